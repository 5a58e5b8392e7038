import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '#shared/log/logger.ts';
import { clearRegisteredSecrets, REDACTED, redactDeep, redactText, registerSecret } from '#shared/log/redact.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

afterEach(() => clearRegisteredSecrets());

describe('redaction', () => {
  it('hides token-like keys but keeps timestamps readable', () => {
    expect(
      redactDeep({
        access_token: 'a-1234567890',
        refreshToken: 'r-1234567890',
        apiKey: 'k',
        client_secret: 's',
        codeVerifier: 'v',
        tokenExpiresAt: '2026-11-22T00:00:00.000Z',
        nested: { authorization: 'Bearer abc' },
      }),
    ).toEqual({
      access_token: REDACTED,
      refreshToken: REDACTED,
      apiKey: REDACTED,
      client_secret: REDACTED,
      codeVerifier: REDACTED,
      tokenExpiresAt: '2026-11-22T00:00:00.000Z',
      nested: { authorization: REDACTED },
    });
  });

  it('scrubs registered secrets wherever they appear in text', () => {
    registerSecret('opaque-value-0123456789');
    expect(redactText('upstream said: token opaque-value-0123456789 is bad')).toBe(
      `upstream said: token ${REDACTED} is bad`,
    );
  });

  it('scrubs credential shapes it was never told about', () => {
    expect(redactText('Authorization: Bearer eyJhbGciOi.abc.def and sk-ant-oat01-AAAAAAAAAAAAAAAA')).toBe(
      `Authorization: ${REDACTED} and ${REDACTED}`,
    );
  });

  it('keeps secrets out of the logger output, in messages, attributes and errors', () => {
    const secret = 'ort-logger-secret-value-42';
    registerSecret(secret);
    logger.info(`refreshing with ${secret}`, { detail: { note: secret }, refresh_token: 'unregistered-but-keyed' });
    logger.error('failed', new Error(`provider rejected ${secret}`));
    const output = capturedLogs();
    expect(output).toContain('refreshing with [REDACTED]');
    expect(output).toContain('provider rejected [REDACTED]');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('unregistered-but-keyed');
  });
});

describe('Keyfleet’s own credentials', () => {
  const random = (seed: string) => Buffer.alloc(32, seed).toString('base64url');

  it('scrubs tickets, task tokens and grants by shape, without being told about them', () => {
    const ticket = `kfk_${random('t')}`;
    const taskToken = `kft_${random('a')}`;
    const grant = `kfg_${random('g')}`;
    expect(taskToken).toHaveLength(47);
    expect(redactText(`KEYFLEET_TICKET=${ticket} token:${taskToken} (${grant})`)).toBe(
      `KEYFLEET_TICKET=${REDACTED} token:${REDACTED} (${REDACTED})`,
    );
  });

  it('scrubs them from logger output too', () => {
    const taskToken = `kft_${random('z')}`;
    logger.warn('usage report refused', { detail: { note: `with ${taskToken}` } });
    expect(capturedLogs()).not.toContain(taskToken);
  });

  it('leaves ids and look-alikes that are not credentials readable', () => {
    const text = `launch lch_0123456789abcdef0123 grant grt_0123456789abcdef0123 kft_short kfx_${random('q')}`;
    expect(redactText(text)).toBe(text);
  });
});

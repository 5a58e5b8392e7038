import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clearRegisteredSecrets,
  MAX_REGISTERED_SECRETS,
  REDACTED,
  redactText,
  registeredSecretCount,
  registerSecret,
} from '#shared/log/redact.ts';

afterEach(() => clearRegisteredSecrets());

const ticket = () => `kfk_${randomBytes(32).toString('base64url')}`;
const opaque = (i: number) => `opaque-provider-token-${i.toString().padStart(8, '0')}`;

describe('the secret registry', () => {
  it('regression: does not grow with every launch (tickets and task tokens are scrubbed by their shape)', () => {
    const seen = Array.from({ length: 1000 }, ticket);
    for (const value of seen) registerSecret(value);
    expect(registeredSecretCount()).toBe(0);
    expect(redactText(`redeemed ${seen[0]}`)).toBe(`redeemed ${REDACTED}`);
  });

  it('regression: keeps at most MAX_REGISTERED_SECRETS values, forgetting the oldest first', () => {
    for (let i = 0; i < MAX_REGISTERED_SECRETS + 10; i++) registerSecret(opaque(i));
    expect(registeredSecretCount()).toBe(MAX_REGISTERED_SECRETS);
    expect(redactText(opaque(9))).toBe(opaque(9));
    expect(redactText(opaque(10))).toBe(REDACTED);
    expect(redactText(opaque(MAX_REGISTERED_SECRETS + 9))).toBe(REDACTED);
  });

  it('makes a secret registered again the newest, so it outlives those registered since its first time', () => {
    registerSecret(opaque(0));
    for (let i = 1; i < MAX_REGISTERED_SECRETS; i++) registerSecret(opaque(i));
    registerSecret(opaque(0));
    registerSecret(opaque(MAX_REGISTERED_SECRETS));
    expect(redactText(opaque(0))).toBe(REDACTED);
    expect(redactText(opaque(1))).toBe(opaque(1));
  });
});

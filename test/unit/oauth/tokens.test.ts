import { describe, expect, it } from 'vitest';
import { redactText } from '#shared/log/redact.ts';
import { cleanEmail, idTokenEmail, jwtClaims, tokenResponseEmail, toStoredTokens } from '#shared/oauth/tokens.ts';
import { fromSecretValue, type StoredTokens, toSecretValue } from '#shared/vault/tokens.ts';

const NOW = Date.UTC(2026, 0, 1);

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

const previous: StoredTokens = {
  access_token: 'at-old-000000000',
  refresh_token: 'rt-old-000000000',
  id_token: jwt({ 'https://api.openai.com/auth': { chatgpt_account_id: 'acct-old' } }),
  token_type: 'Bearer',
  scope: 'openid email',
  expires_at: NOW - 1,
  account_id: 'acct-old',
};

describe('toStoredTokens', () => {
  it('keeps a sign-in answer as the vault stores it, expiry from expires_in', () => {
    const idToken = jwt({ email: 'c@example.test', 'https://api.openai.com/auth': { chatgpt_account_id: 'acct-1' } });
    const answer = {
      access_token: 'at-new-111111111',
      refresh_token: 'rt-new-111111111',
      id_token: idToken,
      token_type: 'bearer' as const,
      scope: 'openid email offline_access',
      expires_in: 3600,
    };
    expect(toStoredTokens(answer, undefined, NOW)).toEqual({
      access_token: 'at-new-111111111',
      refresh_token: 'rt-new-111111111',
      id_token: idToken,
      token_type: 'bearer',
      scope: 'openid email offline_access',
      expires_at: NOW + 3_600_000,
      account_id: 'acct-1',
    });
  });

  it('keeps the previous refresh token, ID token, scope and account id when a refresh answer omits them (Google)', () => {
    const answer = { access_token: 'at-new-222222222', token_type: 'bearer' as const, expires_in: 60 };
    expect(toStoredTokens(answer, previous, NOW)).toEqual({
      access_token: 'at-new-222222222',
      refresh_token: 'rt-old-000000000',
      id_token: previous.id_token,
      token_type: 'bearer',
      scope: 'openid email',
      expires_at: NOW + 60_000,
      account_id: 'acct-old',
    });
  });

  it('takes the expiry from a JWT access token when expires_in is missing, and none from an opaque one', () => {
    const access = jwt({ exp: 1_800_000_000 });
    expect(toStoredTokens({ access_token: access, token_type: 'bearer' }, undefined, NOW).expires_at).toBe(
      1_800_000_000_000,
    );
    expect(toStoredTokens({ access_token: 'opaque-at-33333', token_type: 'bearer' }, undefined, NOW).expires_at).toBe(
      null,
    );
  });

  it('registers the access, refresh and ID tokens with the log redactor', () => {
    toStoredTokens({ access_token: 'at-redact-4444444', refresh_token: 'rt-redact-4444444', token_type: 'bearer' });
    expect(redactText('a at-redact-4444444 b rt-redact-4444444')).toBe('a [REDACTED] b [REDACTED]');
  });
});

describe('vault values', () => {
  it('round-trips stored tokens', () => {
    expect(fromSecretValue(toSecretValue(previous))).toEqual(previous);
  });

  it('reads empty strings and wrong types as absent', () => {
    expect(
      fromSecretValue({ access_token: 'at-5', refresh_token: '', id_token: null, expires_at: '17', scope: 3 }),
    ).toEqual({
      access_token: 'at-5',
      refresh_token: null,
      id_token: null,
      token_type: null,
      scope: null,
      expires_at: null,
      account_id: null,
    });
  });
});

describe('token claims and emails', () => {
  it('reads JWT claims without verifying, and nothing from a value that is not a JWT', () => {
    expect(jwtClaims(jwt({ sub: 'u-1' }))).toEqual({ sub: 'u-1' });
    expect(jwtClaims('not-a-jwt')).toBeUndefined();
    expect(jwtClaims('a.bm90IGpzb24.c')).toBeUndefined();
    expect(jwtClaims(null)).toBeUndefined();
  });

  it('takes the email from Claude’s token answer or an ID token, and only a plausible one', () => {
    expect(tokenResponseEmail({ account: { email_address: 'carol@example.test' } })).toBe('carol@example.test');
    expect(tokenResponseEmail({ account: { email: 'dan@example.test' } })).toBe('dan@example.test');
    expect(tokenResponseEmail({})).toBeUndefined();
    expect(idTokenEmail(jwt({ email: 'erin@example.test' }))).toBe('erin@example.test');
    expect(cleanEmail('no at sign')).toBeUndefined();
    expect(cleanEmail('two words@example.test')).toBeUndefined();
    expect(cleanEmail(42)).toBeUndefined();
  });
});

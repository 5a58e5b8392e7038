import type { IDToken, TokenEndpointResponse } from 'openid-client';
import { registerSecret } from '#shared/log/redact.ts';
import type { StoredTokens } from '#shared/vault/tokens.ts';

type TokenResponse = TokenEndpointResponse & Partial<{ claims: () => IDToken | undefined }>;

/**
 * Converts a token endpoint answer into what the vault keeps. A refresh answer without a new
 * refresh token (Google's never rotate) keeps the previous one.
 */
export function toStoredTokens(response: TokenResponse, previous?: StoredTokens, now = Date.now()): StoredTokens {
  const expiresIn = typeof response.expires_in === 'number' ? response.expires_in : undefined;
  const idToken = typeof response.id_token === 'string' ? response.id_token : (previous?.id_token ?? null);
  const stored: StoredTokens = {
    access_token: response.access_token,
    refresh_token:
      typeof response.refresh_token === 'string' ? response.refresh_token : (previous?.refresh_token ?? null),
    id_token: idToken,
    token_type: typeof response.token_type === 'string' ? response.token_type : null,
    scope: typeof response.scope === 'string' ? response.scope : (previous?.scope ?? null),
    expires_at: expiresIn !== undefined ? now + expiresIn * 1000 : (jwtExpiry(response.access_token) ?? null),
    account_id: chatgptAccountId(idToken) ?? previous?.account_id ?? null,
  };
  for (const value of [stored.access_token, stored.refresh_token, stored.id_token]) registerSecret(value);
  return stored;
}

/** Claims of a JWT, unverified: only for values the token endpoint just gave us over TLS. */
export function jwtClaims(token: string | null | undefined): Record<string, unknown> | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

function chatgptAccountId(idToken: string | null): string | undefined {
  const auth = jwtClaims(idToken)?.['https://api.openai.com/auth'] as Record<string, unknown> | undefined;
  return typeof auth?.chatgpt_account_id === 'string' ? auth.chatgpt_account_id : undefined;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function cleanEmail(value: unknown): string | undefined {
  return typeof value === 'string' && EMAIL.test(value) ? value : undefined;
}

/** Claude's token response carries `account.email_address`. */
export function tokenResponseEmail(response: Record<string, unknown>): string | undefined {
  const account = response.account as Record<string, unknown> | undefined;
  return cleanEmail(account?.email_address) ?? cleanEmail(account?.email);
}

export function idTokenEmail(idToken: string | null | undefined): string | undefined {
  return cleanEmail(jwtClaims(idToken)?.email);
}

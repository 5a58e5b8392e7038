import type { SecretValue } from '#shared/vault/vault.ts';

/**
 * An account's OAuth credential as kept in its vault secret. `expires_at` is epoch milliseconds;
 * `account_id` is the ChatGPT account id Codex CLI needs in `auth.json`. Everything that reads a
 * stored credential (refresh, launches, usage reads) decodes it here; what a token endpoint answers
 * becomes one in `shared/oauth/tokens.ts`.
 */
export interface StoredTokens {
  access_token: string;
  refresh_token: string | null;
  id_token: string | null;
  token_type: string | null;
  scope: string | null;
  expires_at: number | null;
  account_id: string | null;
}

/** The secret value that stores `tokens`. */
export function toSecretValue(tokens: StoredTokens): SecretValue {
  return { ...tokens };
}

/** Reads a stored credential; a missing or mistyped field reads as null (the access token as ''). */
export function fromSecretValue(value: SecretValue): StoredTokens {
  const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
  return {
    access_token: str(value.access_token) ?? '',
    refresh_token: str(value.refresh_token),
    id_token: str(value.id_token),
    token_type: str(value.token_type),
    scope: str(value.scope),
    expires_at: typeof value.expires_at === 'number' ? value.expires_at : null,
    account_id: str(value.account_id),
  };
}

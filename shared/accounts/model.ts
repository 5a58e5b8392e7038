import type { ProviderId } from '#shared/providers/types.ts';
import type { UsageView } from '#shared/usage/view.ts';

export type AccountKind = 'oauth' | 'api_key' | 'none';
export type AccountStatus = 'connected' | 'refresh_failed' | 'needs_reconnect' | 'cooling_down';
export type EndpointType = 'default' | 'responses_hosted' | 'responses_local' | 'azure' | 'custom';

export interface AccountEndpoint {
  type: EndpointType;
  baseUrl: string;
  apiVersion: string | null;
}

/**
 * Account metadata as stored in DynamoDB. Never holds a token, key or verifier: the secret lives
 * in the vault under `secretName`. `active` is not stored here; the provider settings own it.
 */
export interface Account {
  id: string;
  provider: ProviderId;
  kind: AccountKind;
  label: string;
  email: string | null;
  /** null: a server (team) account; otherwise the caller id of the member who owns it. */
  owner: string | null;
  roundRobin: boolean;
  status: AccountStatus;
  keyHint: string | null;
  endpoint: AccountEndpoint | null;
  effort: string | null;
  tokenExpiresAt: string | null;
  lastRefreshAt: string | null;
  lastError: string | null;
  /** Until when a rate-limited account stays out of the pool. */
  cooldownUntil: string | null;
  /** Vault secret name; null for keyless (`none`) accounts. */
  secretName: string | null;
  /** When a proxy last reported requests through this account; absent on accounts never used so. */
  lastUsedAt?: string | null;
  /** The subscription allowance last read from the provider (OAuth accounts); absent until read. */
  usage?: UsageView | null;
  /** When the sweep may read the usage again (`shared/usage/schedule.ts`); absent until first read. */
  usageNextReadAt?: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One account, as an operation on it names it. */
export interface AccountRef {
  provider: ProviderId;
  accountId: string;
}

/** The API's view of an account (API.md "Account"): metadata plus `active`, nothing secret. */
export type AccountView = Omit<Account, 'secretName' | 'lastUsedAt' | 'usage' | 'usageNextReadAt'> & {
  active: boolean;
  lastUsedAt: string | null;
  usage: UsageView | null;
};

export function toAccountView(account: Account, active: boolean): AccountView {
  return {
    id: account.id,
    provider: account.provider,
    kind: account.kind,
    label: account.label,
    email: account.email,
    owner: account.owner,
    active,
    roundRobin: account.roundRobin,
    status: effectiveStatus(account, Date.now()),
    keyHint: account.keyHint,
    endpoint: account.endpoint,
    effort: account.effort,
    tokenExpiresAt: account.tokenExpiresAt,
    lastRefreshAt: account.lastRefreshAt,
    lastError: account.lastError,
    cooldownUntil: account.cooldownUntil,
    lastUsedAt: account.lastUsedAt ?? null,
    usage: account.usage ?? null,
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}

/** A cooldown that has passed no longer counts. */
export function effectiveStatus(account: Account, now: number): AccountStatus {
  if (account.status === 'cooling_down' && account.cooldownUntil && Date.parse(account.cooldownUntil) <= now) {
    return 'connected';
  }
  return account.status;
}

/**
 * Whether a launch may use the account now. Accounts that need reconnecting, or are cooling
 * down after a rate limit, are skipped. `refresh_failed` stays usable: the failure was transient
 * and the stored access token may still be valid (the launch path refreshes if it is not).
 */
export function isUsable(account: Account, now: number): boolean {
  const status = effectiveStatus(account, now);
  return status === 'connected' || status === 'refresh_failed';
}

/** Accounts that use a key or no credential at all, as opposed to OAuth sign-in. */
export function isKeyAccount(account: Account): boolean {
  return account.kind === 'api_key' || account.kind === 'none';
}

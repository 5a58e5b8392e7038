import { randomUUID } from 'node:crypto';
import type { Account } from '#shared/accounts/model.ts';
import { acquireLease, readLease, releaseLease, requireAccount, updateAccount } from '#shared/accounts/store.ts';
import { ConflictError, UpstreamError } from '#shared/errors.ts';
import { logger } from '#shared/log/logger.ts';
import { type ExchangeRecord, oauthConfiguration, oidc, withExchangeRecord } from '#shared/oauth/client.ts';
import { fromSecretValue, type StoredTokens, toSecretValue, toStoredTokens } from '#shared/oauth/tokens.ts';
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { readSecret, writeSecret } from '#shared/vault/vault.ts';

/**
 * The one refresh routine (sweeper, test action, launches). One writer per account:
 *
 *   1. take the lease on the account item (conditional write; a held lease means someone else is
 *      refreshing — wait for them and use their result instead of refreshing again);
 *   2. read the refresh token from the vault and call the token endpoint (transient failures —
 *      network, 5xx, 429 — up to 3 attempts with backoff, honouring Retry-After);
 *   3. write the new tokens to the vault before anything else, as a new version whose id is made
 *      once per refresh: every retry of that write is the same version, and every refresh a new
 *      one (an id derived from the spent refresh token would repeat for providers whose refresh
 *      tokens do not rotate, such as Google's, and the vault refuses a version id with a new value);
 *   4. then update metadata (expiry, last refresh, status) and release the lease.
 * On invalid_grant / refresh_token_reused the vault is read again first: if it already holds a
 * different refresh token, another writer rotated it and the account stays connected.
 */

export interface RefreshOptions {
  /** Refresh even if the access token is still valid for `minValidityMs`. */
  force?: boolean;
  /** Skip the refresh if the stored access token is valid at least this much longer. */
  minValidityMs?: number;
  /** Base of the exponential backoff between attempts. */
  backoffMs?: number;
  leaseMs?: number;
}

export interface RefreshOutcome {
  account: Account;
  tokens: StoredTokens | undefined;
  /** This call refreshed (as opposed to finding fresh tokens or waiting for another writer). */
  refreshed: boolean;
  result: 'ok' | 'failed';
}

const ATTEMPTS = 3;
/** How long an account rate-limited at its token endpoint stays out of the pool, at least. */
const COOLDOWN_MS = 5 * 60 * 1000;
const DEAD_GRANT = new Set([
  'invalid_grant',
  'refresh_token_reused',
  'refresh_token_expired',
  'refresh_token_invalidated',
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Classified =
  | { kind: 'dead'; code: string }
  | { kind: 'transient'; detail: string; retryAfterSeconds: number | undefined; rateLimited: boolean }
  | { kind: 'failed'; detail: string };

function classify(error: unknown, record: ExchangeRecord): Classified {
  const code = record.errorCode ?? (error instanceof oidc.ResponseBodyError ? error.error : undefined);
  if (code && DEAD_GRANT.has(code)) return { kind: 'dead', code };
  const status = record.status ?? (error instanceof oidc.ResponseBodyError ? error.status : undefined);
  if (status === undefined)
    return {
      kind: 'transient',
      detail: 'the token endpoint could not be reached',
      retryAfterSeconds: undefined,
      rateLimited: false,
    };
  if (status >= 500 || status === 429) {
    return {
      kind: 'transient',
      detail: `the token endpoint answered HTTP ${status}`,
      retryAfterSeconds: record.retryAfterSeconds,
      rateLimited: status === 429,
    };
  }
  return {
    kind: 'failed',
    detail: `the token endpoint refused the refresh (HTTP ${status}${code ? `, ${code}` : ''})`,
  };
}

async function readTokens(account: Account): Promise<StoredTokens> {
  if (!account.secretName) throw new ConflictError(`Account ${account.id} has no stored credential.`);
  return fromSecretValue((await readSecret(account.secretName)).value);
}

function isFresh(tokens: StoredTokens, minValidityMs: number, now = Date.now()): boolean {
  return tokens.expires_at !== null && tokens.expires_at - now > minValidityMs;
}

async function waitForOtherWriter(provider: ProviderId, accountId: string, leaseMs: number): Promise<void> {
  const deadline = Date.now() + leaseMs + 1_000;
  while (Date.now() < deadline) {
    await sleep(50 + Math.floor(Math.random() * 100));
    const lease = await readLease(provider, accountId);
    if (!lease.exists || lease.leaseUntil === null || lease.leaseUntil < Date.now()) return;
  }
}

async function writeTokens(name: string, tokens: StoredTokens, requestToken: string, backoffMs: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeSecret(name, toSecretValue(tokens), requestToken);
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS + 2) throw error;
      logger.warn('vault write after refresh failed; retrying with the same request token', { attempt, error });
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
}

export async function refreshAccount(
  provider: ProviderId,
  accountId: string,
  options: RefreshOptions = {},
): Promise<RefreshOutcome> {
  // Longer than the worst case of 3 attempts (15 s timeout each) with two capped waits and the vault write retries.
  const leaseMs = options.leaseMs ?? 120_000;
  const backoffMs = options.backoffMs ?? 500;
  const minValidityMs = options.minValidityMs ?? 0;
  const definition = getProvider(provider);
  let account = await requireAccount(provider, accountId);
  if (account.kind !== 'oauth') throw new ConflictError('Only OAuth accounts have tokens to refresh.');
  const before = account.lastRefreshAt;

  const owner = randomUUID();
  let leased = await acquireLease(provider, accountId, owner, leaseMs);
  for (let round = 0; !leased && round < 3; round++) {
    await waitForOtherWriter(provider, accountId, leaseMs);
    account = await requireAccount(provider, accountId);
    if (account.lastRefreshAt !== before || account.status === 'needs_reconnect') {
      const tokens = account.status === 'needs_reconnect' ? undefined : await readTokens(account);
      return { account, tokens, refreshed: false, result: account.status === 'connected' ? 'ok' : 'failed' };
    }
    leased = await acquireLease(provider, accountId, owner, leaseMs);
  }
  if (!leased) throw new ConflictError('Another refresh of this account is still running; try again shortly.');

  try {
    account = await requireAccount(provider, accountId);
    const current = await readTokens(account);
    // Someone refreshed between our first read and the lease, or the token is fresh enough.
    if (
      !options.force &&
      (account.lastRefreshAt !== before || (minValidityMs > 0 && isFresh(current, minValidityMs)))
    ) {
      return { account, tokens: current, refreshed: false, result: 'ok' };
    }
    const spent = current.refresh_token;
    if (!spent) {
      account = await updateAccount(provider, accountId, {
        status: 'needs_reconnect',
        lastError: 'No refresh token is stored for this account; sign in again.',
      });
      return { account, tokens: current, refreshed: false, result: 'failed' };
    }

    const configuration = await oauthConfiguration(definition);
    // One vault version per refresh, shared by the write's retries.
    const versionId = randomUUID();
    let failure: Classified | undefined;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const { result, error, record } = await withExchangeRecord(() => oidc.refreshTokenGrant(configuration, spent));
      if (result) {
        const next = toStoredTokens(result, current);
        if (!account.secretName) throw new ConflictError('Account has no vault secret.');
        await writeTokens(account.secretName, next, versionId, backoffMs);
        account = await updateAccount(provider, accountId, {
          status: 'connected',
          lastError: null,
          cooldownUntil: null,
          tokenExpiresAt: next.expires_at === null ? null : new Date(next.expires_at).toISOString(),
          lastRefreshAt: new Date().toISOString(),
        });
        return { account, tokens: next, refreshed: true, result: 'ok' };
      }
      failure = classify(error, record);
      if (failure.kind !== 'transient' || attempt === ATTEMPTS) break;
      const wait = failure.retryAfterSeconds !== undefined ? Math.min(failure.retryAfterSeconds * 1000, 20_000) : 0;
      await sleep(Math.max(wait, backoffMs * 2 ** (attempt - 1)));
    }

    if (failure?.kind === 'dead') {
      const stored = await readTokens(account);
      if (stored.refresh_token && stored.refresh_token !== spent) {
        // Someone else rotated the token while we held a stale copy: nothing is wrong.
        account = await requireAccount(provider, accountId);
        return { account, tokens: stored, refreshed: false, result: 'ok' };
      }
      account = await updateAccount(provider, accountId, {
        status: 'needs_reconnect',
        lastError: `${definition.name} rejected the refresh token (${failure.code}); sign in again.`,
      });
      return { account, tokens: undefined, refreshed: false, result: 'failed' };
    }
    const detail =
      failure?.kind === 'transient' ? `${failure.detail} after ${ATTEMPTS} attempts` : (failure?.detail ?? 'unknown');
    // Still rate-limited after every attempt: keep the account out of the pool for a while.
    const cooldownMs =
      failure?.kind === 'transient' && failure.rateLimited
        ? Math.max((failure.retryAfterSeconds ?? 0) * 1000, COOLDOWN_MS)
        : 0;
    account = await updateAccount(provider, accountId, {
      status: cooldownMs > 0 ? 'cooling_down' : 'refresh_failed',
      cooldownUntil: cooldownMs > 0 ? new Date(Date.now() + cooldownMs).toISOString() : null,
      lastError: `Refresh failed: ${detail}.`,
    });
    return { account, tokens: current, refreshed: false, result: 'failed' };
  } catch (error) {
    if (error instanceof ConflictError || error instanceof UpstreamError) throw error;
    logger.error('refresh failed unexpectedly', { provider, accountId, error });
    throw new UpstreamError(`Refreshing the ${definition.name} account failed; try again.`, { cause: error });
  } finally {
    await releaseLease(provider, accountId, owner).catch((error: unknown) =>
      logger.warn('could not release refresh lease; it will lapse', { provider, accountId, error }),
    );
  }
}

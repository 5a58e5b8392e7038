import { randomUUID } from 'node:crypto';
import { refreshTokenGrant, type TokenEndpointResponse } from 'openid-client';
import type { Account } from '#shared/accounts/model.ts';
import { type AccountChanges, requireAccount } from '#shared/accounts/store.ts';
import { ConflictError, UpstreamError } from '#shared/errors.ts';
import { logger } from '#shared/log/logger.ts';
import { oauthConfiguration, type ProviderAnswer, providerAnswer, REQUEST_TIMEOUT_MS } from '#shared/oauth/client.ts';
import { acquireLease, readLease, releaseLease, type StatusFacts } from '#shared/oauth/lease.ts';
import { toStoredTokens } from '#shared/oauth/tokens.ts';
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderDefinition, ProviderId } from '#shared/providers/types.ts';
import { fromSecretValue, type StoredTokens, toSecretValue } from '#shared/vault/tokens.ts';
import { readSecret, writeSecret } from '#shared/vault/vault.ts';

/**
 * The one refresh routine (sweeper, test action, launches). One writer per account:
 *
 *   1. take the lease on the account item (conditional write that returns the account; a held
 *      lease means someone else is refreshing — wait for them and use their result instead of
 *      refreshing again);
 *   2. read the refresh token from the vault and call the token endpoint (transient failures —
 *      network, 5xx, 429 — up to 3 attempts with backoff, honouring Retry-After). An attempt (or a
 *      wait before one) starts only if it can end inside the lease with time left for the writes:
 *      once the lease may lapse, another refresher may spend the same refresh token, and a provider
 *      that rotates them revokes the whole grant when a spent one comes again. A refresh that runs
 *      short of lease stops as if it had lost it: no token call, no write;
 *   3. write the new tokens to the vault before anything else, as a new version whose id is made
 *      once per refresh: every retry of that write is the same version, and every refresh a new
 *      one (an id derived from the spent refresh token would repeat for providers whose refresh
 *      tokens do not rotate, such as Google's, and the vault refuses a version id with a new value);
 *   4. then update metadata (expiry, last refresh, status) and release the lease in one write,
 *      conditioned on still holding the lease (a refresher whose lease lapsed changes nothing) and
 *      on the status and cool-down being as read under the lease: a rate limit a proxy reported
 *      meanwhile is read again and kept (two more calls, only then).
 * Four AWS calls in all: lease, vault read, vault write, metadata with release.
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

/** Which account to refresh, and how. */
export interface RefreshRequest extends RefreshOptions {
  provider: ProviderId;
  accountId: string;
  /**
   * The account's `lastRefreshAt` as the caller read it (the sweep's snapshot). A different value
   * under the lease means someone refreshed since, and their result is used instead (unless
   * `force`). Without it, a refresh that finished after this call began counts.
   */
  lastRefreshAt?: string | null;
}

export interface RefreshOutcome {
  account: Account;
  tokens: StoredTokens | undefined;
  /** This call refreshed (as opposed to finding fresh tokens or waiting for another writer). */
  refreshed: boolean;
  result: 'ok' | 'failed';
}

const ATTEMPTS = 3;
/** How long one token call may take: the request timeout of the provider fetch (shared/oauth/client.ts). */
const ATTEMPT_TIMEOUT_MS = REQUEST_TIMEOUT_MS;
/** Lease time kept for after the last token call: the vault write and the metadata write. */
const LEASE_MARGIN_MS = 10_000;
/** The shortest lease that fits one attempt and the writes after it. */
const MIN_LEASE_MS = ATTEMPT_TIMEOUT_MS + LEASE_MARGIN_MS;
/** The longest Retry-After honoured between attempts; a longer one becomes the cool-down instead. */
const MAX_RETRY_WAIT_MS = 20_000;
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

function classify({ status, errorCode: code, retryAfterSeconds }: ProviderAnswer): Classified {
  if (code && DEAD_GRANT.has(code)) return { kind: 'dead', code };
  if (status === undefined) {
    const detail = 'the token endpoint could not be reached';
    return { kind: 'transient', detail, retryAfterSeconds: undefined, rateLimited: false };
  }
  if (status >= 500 || status === 429) {
    const detail = `the token endpoint answered HTTP ${status}`;
    return { kind: 'transient', detail, retryAfterSeconds, rateLimited: status === 429 };
  }
  return {
    kind: 'failed',
    detail: `the token endpoint refused the refresh (HTTP ${status}${code ? `, ${code}` : ''})`,
  };
}

/**
 * The wait before the next attempt: the exponential backoff, or the provider's Retry-After when
 * that is longer (capped at {@link MAX_RETRY_WAIT_MS}).
 */
export function retryWaitMs(retryAfterSeconds: number | undefined, backoffMs: number, attempt: number): number {
  const wait = retryAfterSeconds !== undefined ? Math.min(retryAfterSeconds * 1000, MAX_RETRY_WAIT_MS) : 0;
  return Math.max(wait, backoffMs * 2 ** (attempt - 1));
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
    const lease = await readLease({ provider, accountId });
    if (!lease.exists || lease.leaseUntil === null || lease.leaseUntil < Date.now()) return;
  }
}

async function writeTokens(name: string, tokens: StoredTokens, requestToken: string, backoffMs: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeSecret({ name, value: toSecretValue(tokens), requestToken });
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS + 2) throw error;
      logger.warn('vault write after refresh failed; retrying with the same request token', { attempt, error });
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
}

/** One refresh in progress: what every step below needs. */
interface Run {
  request: Required<RefreshOptions> & Pick<RefreshRequest, 'provider' | 'accountId'>;
  definition: ProviderDefinition;
  /** This call's lease owner id. */
  owner: string;
  /** When this call's lease runs out (epoch ms); 0 until it is taken. */
  leaseUntil: number;
  /** The caller's `lastRefreshAt` ({@link RefreshRequest.lastRefreshAt}); undefined when it gave none. */
  before: string | null | undefined;
  /** When this call began (epoch ms): the baseline when the caller gave no `lastRefreshAt`. */
  startedAt: number;
  /** Set once the lease has been given back (with or without changes). */
  released: boolean;
}

/** What another writer's refresh left: the account, its tokens (none if it needs a new sign-in). */
async function otherResult(account: Account): Promise<RefreshOutcome> {
  const tokens = account.status === 'needs_reconnect' ? undefined : await readTokens(account);
  return { account, tokens, refreshed: false, result: account.status === 'connected' ? 'ok' : 'failed' };
}

/**
 * Whether someone refreshed the account after this call's baseline: the caller's `lastRefreshAt`
 * when it gave one, else the moment this call began. Clocks of two writers may differ by
 * milliseconds; either way the outcome is harmless (a refresh that fresh is skipped, or one more
 * refresh is made).
 */
function refreshedSince(run: Run, account: Account): boolean {
  if (run.before !== undefined) return account.lastRefreshAt !== run.before;
  return account.lastRefreshAt !== null && Date.parse(account.lastRefreshAt) >= run.startedAt;
}

/**
 * Step 1: takes the lease (and with it the account), or waits for the writer holding it and
 * returns their result when they refreshed (or found the account dead).
 */
async function leaseOrOtherResult(run: Run): Promise<{ account: Account } | { outcome: RefreshOutcome }> {
  const { provider, accountId, leaseMs } = run.request;
  for (let round = 0; ; round++) {
    const leased = await acquireLease({ provider, accountId, owner: run.owner, durationMs: leaseMs });
    if (leased) {
      run.leaseUntil = leased.leaseUntil;
      return { account: leased.account };
    }
    if (round === 3) throw new ConflictError('Another refresh of this account is still running; try again shortly.');
    await waitForOtherWriter(provider, accountId, leaseMs);
    const after = await requireAccount(provider, accountId);
    if (refreshedSince(run, after) || after.status === 'needs_reconnect') return { outcome: await otherResult(after) };
  }
}

/** The account changes a finished refresh makes, given the account's status and cool-down as they stand. */
type Plan = (facts: StatusFacts) => AccountChanges;

/** The lease is not this call's any more: nothing was written, and the account is read as it is. */
async function lapsed(run: Run): Promise<Account> {
  const { provider, accountId } = run.request;
  run.released = true;
  logger.warn('the refresh lease lapsed before the refresh finished; its changes were not written', {
    provider,
    accountId,
  });
  return requireAccount(provider, accountId);
}

/** Step 4 with changes that hold whatever the status: written with the release while this call owns the lease. */
async function finish(run: Run, changes: AccountChanges): Promise<Account> {
  const { provider, accountId } = run.request;
  const updated = await releaseLease({ provider, accountId, owner: run.owner, changes });
  if (!updated) return lapsed(run);
  run.released = true;
  return updated;
}

/** Of a plan's changes, the token facts only (what this call alone knows). */
function tokenFacts(changes: AccountChanges): AccountChanges {
  const { tokenExpiresAt, lastRefreshAt } = changes;
  return {
    ...(tokenExpiresAt !== undefined ? { tokenExpiresAt } : {}),
    ...(lastRefreshAt !== undefined ? { lastRefreshAt } : {}),
  };
}

/**
 * Step 4 with changes that depend on the account's status and cool-down (`seen`: as read under the
 * lease): the write also holds only while those are unchanged, so a cool-down a proxy reported
 * while this call ran is not overwritten. If they changed, they are read again (consistently, with
 * the lease) and the changes recomputed once; if they changed yet again, only the token facts are
 * written. A lapsed lease changes nothing, as in {@link finish}.
 */
async function finishFrom(run: Run, seen: StatusFacts, plan: Plan): Promise<Account> {
  const { provider, accountId } = run.request;
  let facts = seen;
  for (let round = 0; round < 2; round++) {
    const expected = { status: facts.status, cooldownUntil: facts.cooldownUntil };
    const updated = await releaseLease({ provider, accountId, owner: run.owner, changes: plan(facts), expected });
    if (updated) {
      run.released = true;
      return updated;
    }
    const lease = await readLease({ provider, accountId });
    if (lease.leaseOwner !== run.owner || lease.status === null) return lapsed(run);
    facts = { status: lease.status, cooldownUntil: lease.cooldownUntil };
  }
  return finish(run, tokenFacts(plan(facts)));
}

/** Lease time left for token calls: until the lease runs out, less what the writes after them need. */
const leaseLeft = (run: Run) => run.leaseUntil - LEASE_MARGIN_MS - Date.now();

type Exchanged = { response: TokenEndpointResponse } | { failure: Classified } | { lapsing: true };

/**
 * Step 2: the token endpoint, up to {@link ATTEMPTS} times while the failure is transient. Each
 * attempt, and each wait before one, starts only if it ends inside the lease with
 * {@link LEASE_MARGIN_MS} to spare; otherwise `lapsing` (no call is made). The attempt's end is the
 * provider fetch's own timeout ({@link ATTEMPT_TIMEOUT_MS}), which aborts the request; an answer
 * that came is always used, since a rotating provider has spent the old token by then.
 */
async function exchange(run: Run, spent: string): Promise<Exchanged> {
  const configuration = await oauthConfiguration(run.definition);
  let failure: Classified = { kind: 'failed', detail: 'no attempt was made' };
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (leaseLeft(run) < ATTEMPT_TIMEOUT_MS) return { lapsing: true };
    try {
      return { response: await refreshTokenGrant(configuration, spent) };
    } catch (error) {
      failure = classify(await providerAnswer(error));
    }
    if (failure.kind !== 'transient' || attempt === ATTEMPTS) break;
    const wait = retryWaitMs(failure.retryAfterSeconds, run.request.backoffMs, attempt);
    if (leaseLeft(run) < wait + ATTEMPT_TIMEOUT_MS) return { lapsing: true };
    await sleep(wait);
  }
  return { failure };
}

/**
 * The lease ran short before a token call could end inside it: nothing was called or written.
 * Another refresher's result is used if there is one; otherwise this refresh failed and the account
 * stays as it is.
 */
async function leaseRanShort(run: Run, current: StoredTokens): Promise<RefreshOutcome> {
  const { provider, accountId } = run.request;
  logger.warn('the refresh lease ran short; the token endpoint was not called again', { provider, accountId });
  const account = await requireAccount(provider, accountId);
  if (refreshedSince(run, account) || account.status === 'needs_reconnect') return otherResult(account);
  return { account, tokens: current, refreshed: false, result: 'failed' };
}

/**
 * Steps 3 and 4: the new tokens go to the vault first (one version per refresh), then the metadata.
 * The vault write does not wait on the lease: the provider has spent the old refresh token, so the
 * new one is the only one that works (the attempt deadline keeps this write inside the lease).
 */
async function store(run: Run, account: Account, next: StoredTokens): Promise<RefreshOutcome> {
  if (!account.secretName) throw new ConflictError('Account has no vault secret.');
  await writeTokens(account.secretName, next, randomUUID(), run.request.backoffMs);
  const tokenExpiresAt = next.expires_at === null ? null : new Date(next.expires_at).toISOString();
  const lastRefreshAt = new Date().toISOString();
  const updated = await finishFrom(run, account, (facts) => {
    // A rate limit the provider announced (a proxy report, or the token endpoint's 429) still holds
    // until its reset: a fresh token does not bring the account back into the pool early.
    const until = coolingUntil(facts);
    return {
      status: until !== null ? 'cooling_down' : 'connected',
      lastError: null,
      cooldownUntil: until,
      tokenExpiresAt,
      lastRefreshAt,
    };
  });
  return { account: updated, tokens: next, refreshed: true, result: 'ok' };
}

/** The cool-down in `facts` if it is still running, else null. */
function coolingUntil(facts: StatusFacts): string | null {
  const { status, cooldownUntil } = facts;
  return status === 'cooling_down' && cooldownUntil !== null && Date.parse(cooldownUntil) > Date.now()
    ? cooldownUntil
    : null;
}

/**
 * A refresh that did not succeed. A dead grant whose stored token has changed meanwhile was
 * rotated by someone else (the account is fine); otherwise the account needs a new sign-in. A
 * transient failure that outlasted every attempt marks it `refresh_failed`, or keeps it out of the
 * pool (`cooling_down`) while the provider rate-limits it (at its token endpoint, or as a proxy
 * reported: the later reset stands).
 */
async function settleFailure(
  run: Run,
  account: Account,
  current: StoredTokens,
  failure: Classified,
): Promise<RefreshOutcome> {
  if (failure.kind === 'dead') {
    const stored = await readTokens(account);
    if (stored.refresh_token && stored.refresh_token !== current.refresh_token) {
      return { account: await finish(run, {}), tokens: stored, refreshed: false, result: 'ok' };
    }
    const lastError = `${run.definition.name} rejected the refresh token (${failure.code}); sign in again.`;
    const updated = await finish(run, { status: 'needs_reconnect', lastError });
    return { account: updated, tokens: undefined, refreshed: false, result: 'failed' };
  }
  const detail = failure.kind === 'transient' ? `${failure.detail} after ${ATTEMPTS} attempts` : failure.detail;
  const cooldownMs =
    failure.kind === 'transient' && failure.rateLimited
      ? Math.max((failure.retryAfterSeconds ?? 0) * 1000, COOLDOWN_MS)
      : 0;
  const mine = cooldownMs > 0 ? new Date(Date.now() + cooldownMs).toISOString() : null;
  const updated = await finishFrom(run, account, (facts) => {
    // The later of this cool-down and one already running (e.g. a proxy's report) stands.
    const theirs = coolingUntil(facts);
    const until = mine === null || (theirs !== null && Date.parse(theirs) > Date.parse(mine)) ? theirs : mine;
    return {
      status: until !== null ? 'cooling_down' : 'refresh_failed',
      cooldownUntil: until,
      lastError: `Refresh failed: ${detail}.`,
    };
  });
  return { account: updated, tokens: current, refreshed: false, result: 'failed' };
}

/** Under the lease: skip if someone refreshed or the token is fresh enough, else exchange and settle. */
async function refreshLeased(run: Run, account: Account): Promise<RefreshOutcome> {
  const { force, minValidityMs } = run.request;
  if (account.kind !== 'oauth') throw new ConflictError('Only OAuth accounts have tokens to refresh.');
  const current = await readTokens(account);
  if (!force && (refreshedSince(run, account) || (minValidityMs > 0 && isFresh(current, minValidityMs)))) {
    return { account, tokens: current, refreshed: false, result: 'ok' };
  }
  if (!current.refresh_token) {
    const updated = await finish(run, {
      status: 'needs_reconnect',
      lastError: 'No refresh token is stored for this account; sign in again.',
    });
    return { account: updated, tokens: current, refreshed: false, result: 'failed' };
  }
  const exchanged = await exchange(run, current.refresh_token);
  if ('lapsing' in exchanged) return leaseRanShort(run, current);
  if ('failure' in exchanged) return settleFailure(run, account, current, exchanged.failure);
  return store(run, account, toStoredTokens(exchanged.response, current));
}

function normalise(request: RefreshRequest): Run['request'] {
  if (request.leaseMs !== undefined && !(request.leaseMs >= MIN_LEASE_MS)) {
    throw new RangeError(`leaseMs must be at least ${MIN_LEASE_MS} (one token call and the writes after it).`);
  }
  return {
    provider: request.provider,
    accountId: request.accountId,
    force: request.force ?? false,
    minValidityMs: request.minValidityMs ?? 0,
    backoffMs: request.backoffMs ?? 500,
    // Longer than the worst case of 3 attempts (15 s timeout each) with two capped waits and the vault write retries.
    leaseMs: request.leaseMs ?? 120_000,
  };
}

/** Refreshes one OAuth account's tokens: the routine described at the top of this file. */
export async function refreshAccount(options: RefreshRequest): Promise<RefreshOutcome> {
  const request = normalise(options);
  const { provider, accountId } = request;
  const definition = getProvider(provider);
  const run: Run = {
    request,
    definition,
    owner: randomUUID(),
    leaseUntil: 0,
    before: options.lastRefreshAt,
    startedAt: Date.now(),
    released: false,
  };
  const leased = await leaseOrOtherResult(run);
  if ('outcome' in leased) return leased.outcome;
  try {
    return await refreshLeased(run, leased.account);
  } catch (error) {
    if (error instanceof ConflictError || error instanceof UpstreamError) throw error;
    logger.error('refresh failed unexpectedly', { provider, accountId, error });
    throw new UpstreamError(`Refreshing the ${definition.name} account failed; try again.`, { cause: error });
  } finally {
    if (!run.released) {
      await releaseLease({ provider, accountId, owner: run.owner }).catch((error: unknown) =>
        logger.warn('could not release refresh lease; it will lapse', { provider, accountId, error }),
      );
    }
  }
}

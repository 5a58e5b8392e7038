import type { Account } from '#shared/accounts/model.ts';
import type { TestResult } from '#shared/accounts/probe.ts';
import { addAccount, defaultLabel, newAccount, type Scope } from '#shared/accounts/service.ts';
import { requireAccount, storeUsage } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { refreshThroughFunction } from '#shared/oauth/remote-refresh.ts';
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { effectiveUsageEndpoints } from '#shared/usage/account.ts';
import { usageReadTasks } from '#shared/usage/sweep.ts';
import { type StoredTokens, toSecretValue } from '#shared/vault/tokens.ts';

/**
 * What the accounts area does with an OAuth account but cannot import, because the refresh builds
 * on it: creating one from a sign-in's tokens, and the Test action's check (handed to the account
 * routes by `functions/accounts.ts`).
 */

/** A signed-in account to store: its tokens, and what the sign-in learnt about it. */
export interface NewOAuthAccount {
  provider: ProviderId;
  scope: Scope;
  tokens: StoredTokens;
  label: string | null;
  email: string | null;
  actor: string;
}

/** Stores a signed-in account (tokens to the vault, then metadata) and audits `account.signed_in`. */
export async function createOAuthAccount(input: NewOAuthAccount): Promise<{ account: Account; active: boolean }> {
  const provider = getProvider(input.provider);
  const account = newAccount(provider, input.scope, {
    kind: 'oauth',
    label: input.label ?? input.email ?? defaultLabel(provider),
    email: input.email,
    keyHint: null,
    endpoint: null,
    tokenExpiresAt: input.tokens.expires_at === null ? null : new Date(input.tokens.expires_at).toISOString(),
    lastRefreshAt: new Date().toISOString(),
    secret: true,
  });
  return addAccount({
    account,
    secret: toSecretValue(input.tokens),
    actor: input.actor,
    action: 'account.signed_in',
    detail: { owner: account.owner },
  });
}

/**
 * The Test action's usage read, after a good refresh: read now (whatever the sweep's interval) and
 * store it. Never throws, and its outcome is not part of the test's result: the `detail` phrases
 * stay those of the refresh, and a failed read only leaves `usageError` on the item.
 */
async function readUsageNow(account: Account): Promise<void> {
  if (!effectiveUsageEndpoints()[account.provider]) return;
  const [read] = usageReadTasks([account], {
    now: Date.now(),
    store: storeUsage,
    intervalMinutes: config().usageIntervalMinutes,
  });
  await read?.();
}

/**
 * The Test action's forced refresh. Deployed, it runs in the refresh function like every other
 * refresh, so a slow provider (retries, Retry-After) cannot leave a rotated token unstored when the
 * accounts function or the API request times out first; local mode runs it in process.
 */
async function forcedRefresh(account: Account): Promise<{ ok: boolean; refreshed: boolean; current: Account }> {
  const { provider, id: accountId } = account;
  const functionName = config().refreshFunctionName;
  if (!functionName) {
    const outcome = await refreshAccount({ provider, accountId, force: true });
    return { ok: outcome.result === 'ok', refreshed: outcome.refreshed, current: outcome.account };
  }
  const answer = await refreshThroughFunction(functionName, {
    action: 'refresh',
    provider,
    accountId,
    minValidityMs: 0,
    force: true,
  });
  const current = await requireAccount(provider, accountId);
  const ok = answer ? answer.result === 'ok' : current.status === 'connected';
  return { ok, refreshed: answer?.refreshed ?? true, current };
}

/** The Test action on an OAuth account: a forced refresh through the shared routine, then a usage read. */
export async function checkOAuthAccount(account: Account): Promise<TestResult> {
  const { ok, refreshed, current } = await forcedRefresh(account);
  if (!ok) return { ok: false, detail: current.lastError ?? `Account status: ${current.status}.` };
  await readUsageNow(account);
  return {
    ok: true,
    detail: refreshed ? 'Refreshed the access token.' : 'Tokens are fresh (refreshed moments ago).',
  };
}

import type { Account } from '#shared/accounts/model.ts';
import { loadProviderState, type ProviderState } from '#shared/accounts/state.ts';
import { storeUsage } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { dueAccounts, providerNextRefreshAt } from '#shared/keepalive/schedule.ts';
import { logger } from '#shared/log/logger.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { listProviders, type ProviderDefinition, type ProviderId } from '#shared/providers/index.ts';
import { updateProviderSettings } from '#shared/settings/store.ts';
import { effectiveUsageEndpoints } from '#shared/usage/account.ts';
import { usageDue, usageReadTasks } from '#shared/usage/sweep.ts';

export interface SweepOptions {
  /** Refreshes running at once (each ends in one Secrets Manager write). */
  concurrency?: number;
  /** Refreshes started per second at most, shared by all providers of this sweep. */
  startsPerSecond?: number;
  now?: number;
}

/** How fast a sweep starts refreshes and usage reads. */
type Pacing = Required<Pick<SweepOptions, 'concurrency' | 'startsPerSecond'>>;

export interface SweepSummary {
  due: number;
  refreshed: number;
  failed: number;
  providers: Record<string, { enabled: boolean; due: number; failed: number }>;
  /** Usage reads after the refreshes: accounts due a read, read and stored, and the rest. */
  usage: { due: number; read: number; failed: number };
}

/**
 * Runs `tasks` with at most `concurrency` in flight and at most `perSecond` started each second,
 * so a sweep stays far below Secrets Manager's 50 writes a second per region (which other
 * writers share).
 */
export async function paced<T>(tasks: (() => Promise<T>)[], concurrency: number, perSecond: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  const gap = 1000 / perSecond;
  let nextStart = Date.now();
  let index = 0;
  const worker = async () => {
    while (index < tasks.length) {
      const mine = index++;
      const wait = nextStart - Date.now();
      nextStart = Math.max(nextStart, Date.now()) + gap;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const task = tasks[mine];
      if (task) results[mine] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
  return results;
}

/** Refreshes one due account; `false` when it failed, whatever the reason. */
async function refreshOne(account: Account): Promise<boolean> {
  try {
    // The snapshot's lastRefreshAt: a launch that refreshed the account since makes this one a no-op.
    const outcome = await refreshAccount({
      provider: account.provider,
      accountId: account.id,
      lastRefreshAt: account.lastRefreshAt,
    });
    return outcome.result === 'ok';
  } catch (error) {
    logger.error('keep-alive refresh failed', { provider: account.provider, accountId: account.id, error });
    return false;
  }
}

/** The provider's keep-alive status after a sweep: last run and result (if any were due), next run. */
async function recordStatus(
  provider: ProviderDefinition,
  entry: SweepSummary['providers'][string],
  now: number,
): Promise<void> {
  const after = await loadProviderState(provider.id);
  await updateProviderSettings(provider.id, {
    keepalive: {
      ...(entry.due > 0
        ? { lastRefreshAt: new Date(now).toISOString(), lastResult: entry.failed > 0 ? 'failed' : 'ok' }
        : {}),
      nextRefreshAt: providerNextRefreshAt({
        accounts: after.accounts,
        settings: after.settings.keepalive,
        leadMinutes: provider.refreshLeadMinutes,
      }),
    },
  });
}

/**
 * The sweep's usage reads: every OAuth account (of any provider with a usage endpoint, keep-alive
 * on or off, since the pool needs the allowance either way) whose next read time has come, read
 * with the same pacing as the refreshes and stored with {@link storeUsage}. Runs after the refreshes
 * and their status, so tokens are fresh and nothing here can delay or change them; never throws.
 */
async function readUsageOf(accounts: Account[], now: number, pacing: Pacing): Promise<SweepSummary['usage']> {
  const counts = { due: 0, read: 0, failed: 0 };
  try {
    const due = usageDue(accounts, now, effectiveUsageEndpoints());
    counts.due = due.length;
    const tasks = usageReadTasks(due, {
      now,
      store: storeUsage,
      intervalMinutes: config().usageIntervalMinutes,
      read: { now: () => now },
    });
    for (const outcome of await paced(tasks, pacing.concurrency, pacing.startsPerSecond)) {
      if (outcome?.ok && outcome.stored) counts.read += 1;
      else counts.failed += 1;
    }
  } catch (error) {
    // Unreachable by design (the tasks never throw); a usage bug must not fail the refresh function.
    logger.error('usage reads failed', { error });
    counts.failed = counts.due - counts.read;
  }
  return counts;
}

/** One provider as the sweep found it. */
interface Snapshot {
  provider: ProviderDefinition;
  state: ProviderState;
}

/** An account due a refresh. */
interface Due {
  provider: ProviderId;
  account: Account;
}

/** The accounts due a refresh at `now`, provider by provider; each provider's entry goes into `summary`. */
function dueWork(snapshots: Snapshot[], now: number, summary: SweepSummary): Due[] {
  const work: Due[] = [];
  for (const { provider, state } of snapshots) {
    const due = dueAccounts(
      { accounts: state.accounts, settings: state.settings.keepalive, leadMinutes: provider.refreshLeadMinutes },
      now,
    );
    summary.providers[provider.id] = { enabled: state.settings.keepalive.enabled, due: due.length, failed: 0 };
    for (const account of due) work.push({ provider: provider.id, account });
  }
  summary.due = work.length;
  return work;
}

/** Refreshes `work` at the sweep's pacing and counts the outcomes into `summary`; returns the ids that failed. */
async function refreshDue(work: Due[], pacing: Pacing, summary: SweepSummary): Promise<Set<string>> {
  const tasks = work.map(
    ({ account }) =>
      () =>
        refreshOne(account),
  );
  const outcomes = await paced(tasks, pacing.concurrency, pacing.startsPerSecond);
  const failed = new Set<string>();
  outcomes.forEach((ok, i) => {
    const item = work[i];
    if (!item) return;
    if (ok) {
      summary.refreshed += 1;
      return;
    }
    failed.add(item.account.id);
    summary.failed += 1;
    const entry = summary.providers[item.provider];
    if (entry) entry.failed += 1;
  });
  return failed;
}

/**
 * One keep-alive sweep (EventBridge Scheduler, every 5 minutes): for each provider whose keep-alive
 * is on, refresh the OAuth accounts that are due, then record the provider's status; then read the
 * usage of the OAuth accounts due a read (`KEYFLEET_USAGE_INTERVAL_MINUTES`, see {@link readUsageOf}).
 */
export async function sweep(options: SweepOptions = {}): Promise<SweepSummary> {
  const now = options.now ?? Date.now();
  // Pacing is checked at start (shared/config.ts refuses values above the caps).
  const pacing: Pacing = {
    concurrency: options.concurrency ?? config().refreshConcurrency,
    startsPerSecond: options.startsPerSecond ?? config().refreshPerSecond,
  };
  const summary: SweepSummary = {
    due: 0,
    refreshed: 0,
    failed: 0,
    providers: {},
    usage: { due: 0, read: 0, failed: 0 },
  };
  const snapshots = await Promise.all(
    listProviders().map(async (p) => ({ provider: p, state: await loadProviderState(p.id) })),
  );
  const refreshFailed = await refreshDue(dueWork(snapshots, now, summary), pacing, summary);
  for (const { provider } of snapshots) {
    const entry = summary.providers[provider.id];
    if (entry?.enabled) await recordStatus(provider, entry, now);
  }
  // An account whose refresh just failed holds no token worth sending (it may need a new sign-in).
  summary.usage = await readUsageOf(
    snapshots.flatMap(({ state }) => state.accounts).filter((account) => !refreshFailed.has(account.id)),
    now,
    pacing,
  );
  logger.info('keep-alive sweep finished', { summary });
  return summary;
}

import type { Account } from '#shared/accounts/model.ts';
import { logger } from '#shared/log/logger.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import {
  effectiveUsageEndpoints,
  readAccountUsage,
  type UsageAttributes,
  usageAttributes,
} from '#shared/usage/account.ts';
import type { UsageReadOptions } from '#shared/usage/read.ts';
import { DEFAULT_USAGE_INTERVAL_MINUTES, usageReadDue } from '#shared/usage/schedule.ts';
import type { UsageFailureKind } from '#shared/usage/types.ts';

/** What the sweep needs to know about an account to read its usage. */
export type UsageCandidate = Pick<Account, 'id' | 'provider' | 'kind' | 'status' | 'secretName'> & {
  /** Stored after each attempt; absent or null means never read. */
  usageNextReadAt?: string | null;
};

/** Writes the usage attributes on the account item (the accounts store's job). */
export type StoreUsage = (provider: ProviderId, accountId: string, attributes: UsageAttributes) => Promise<unknown>;

export interface UsageReadOutcome {
  provider: ProviderId;
  accountId: string;
  ok: boolean;
  /** The failure kind, or null after a good read. */
  failure: UsageFailureKind | null;
  stored: boolean;
}

/**
 * The accounts whose usage the sweep reads now: OAuth accounts of a provider with a usage
 * endpoint, not waiting to be reconnected (their token is dead), whose next read time has come.
 */
export function usageDue<T extends UsageCandidate>(
  accounts: readonly T[],
  now: number,
  endpoints: Readonly<Record<ProviderId, string | undefined>> = effectiveUsageEndpoints(),
): T[] {
  return accounts.filter(
    (a) =>
      a.kind === 'oauth' &&
      a.status !== 'needs_reconnect' &&
      Boolean(endpoints[a.provider]) &&
      usageReadDue(a.usageNextReadAt, now),
  );
}

/**
 * One task per due account, for the sweep's pacer (after the refreshes, so tokens are fresh):
 * read the usage, then store {@link usageAttributes}. A task never throws: a failed read or store
 * is logged (provider, account, failure kind, status; never a token or a response body) and
 * changes nothing else.
 */
export function usageReadTasks(
  accounts: readonly UsageCandidate[],
  options: { now: number; store: StoreUsage; intervalMinutes?: number; read?: UsageReadOptions },
): (() => Promise<UsageReadOutcome>)[] {
  const interval = options.intervalMinutes ?? DEFAULT_USAGE_INTERVAL_MINUTES;
  return accounts.map((account) => async () => {
    const { provider, id: accountId } = account;
    const result = await readAccountUsage(account, options.read);
    if (!result.ok) {
      logger.warn('usage read failed', { provider, accountId, kind: result.kind, status: result.status });
    }
    let stored = true;
    try {
      await options.store(provider, accountId, usageAttributes(result, options.now, interval));
    } catch (error) {
      stored = false;
      logger.warn('could not store usage', { provider, accountId, error });
    }
    return { provider, accountId, ok: result.ok, failure: result.ok ? null : result.kind, stored };
  });
}

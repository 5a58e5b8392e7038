import type { Account } from '#shared/accounts/model.ts';
import type { KeepaliveSettings } from '#shared/settings/provider.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A provider's accounts with its keep-alive settings and lead time (`refreshLeadMinutes`). */
export interface ProviderSchedule {
  accounts: Account[];
  settings: KeepaliveSettings;
  leadMinutes: number;
}

/**
 * When an OAuth account next needs a refresh: its interval after the last refresh, or its
 * provider's lead time before the access token expires, whichever comes first.
 *
 *   lastRefreshAt ──── intervalHours ────► due
 *   tokenExpiresAt ◄── leadMinutes ─────── due
 */
export function nextRefreshAt(account: Account, schedule: Omit<ProviderSchedule, 'accounts'>): number {
  const { settings, leadMinutes } = schedule;
  const byInterval = account.lastRefreshAt ? Date.parse(account.lastRefreshAt) + settings.intervalHours * HOUR : 0;
  const byExpiry = account.tokenExpiresAt
    ? Date.parse(account.tokenExpiresAt) - leadMinutes * MINUTE
    : Number.POSITIVE_INFINITY;
  return Math.min(byInterval, byExpiry);
}

function kept(accounts: Account[]): Account[] {
  return accounts.filter((a) => a.kind === 'oauth' && a.status !== 'needs_reconnect');
}

/** Accounts the sweeper refreshes at `now`. Accounts that need reconnecting are left alone. */
export function dueAccounts(schedule: ProviderSchedule, now: number): Account[] {
  if (!schedule.settings.enabled) return [];
  return kept(schedule.accounts).filter((a) => nextRefreshAt(a, schedule) <= now);
}

/** The provider's next sweep time: the soonest account due after this sweep, or null. */
export function providerNextRefreshAt(schedule: ProviderSchedule): string | null {
  if (!schedule.settings.enabled) return null;
  const times = kept(schedule.accounts).map((a) => nextRefreshAt(a, schedule));
  if (times.length === 0) return null;
  return new Date(Math.min(...times)).toISOString();
}

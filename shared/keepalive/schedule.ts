import type { Account } from '#shared/accounts/model.ts';
import type { KeepaliveSettings } from '#shared/accounts/settings.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/**
 * When an OAuth account next needs a refresh: its interval after the last refresh, or its
 * provider's lead time before the access token expires, whichever comes first.
 *
 *   lastRefreshAt ──── intervalHours ────► due
 *   tokenExpiresAt ◄── leadMinutes ─────── due
 */
export function nextRefreshAt(account: Account, settings: KeepaliveSettings, leadMinutes: number): number {
  const byInterval = account.lastRefreshAt ? Date.parse(account.lastRefreshAt) + settings.intervalHours * HOUR : 0;
  const byExpiry = account.tokenExpiresAt
    ? Date.parse(account.tokenExpiresAt) - leadMinutes * MINUTE
    : Number.POSITIVE_INFINITY;
  return Math.min(byInterval, byExpiry);
}

/** Accounts the sweeper refreshes now. Accounts that need reconnecting are left alone. */
export function dueAccounts(
  accounts: Account[],
  settings: KeepaliveSettings,
  leadMinutes: number,
  now: number,
): Account[] {
  if (!settings.enabled) return [];
  return accounts.filter(
    (a) => a.kind === 'oauth' && a.status !== 'needs_reconnect' && nextRefreshAt(a, settings, leadMinutes) <= now,
  );
}

/** The provider's next sweep time: the soonest account due after this sweep, or null. */
export function providerNextRefreshAt(
  accounts: Account[],
  settings: KeepaliveSettings,
  leadMinutes: number,
): string | null {
  if (!settings.enabled) return null;
  const times = accounts
    .filter((a) => a.kind === 'oauth' && a.status !== 'needs_reconnect')
    .map((a) => nextRefreshAt(a, settings, leadMinutes));
  if (times.length === 0) return null;
  return new Date(Math.min(...times)).toISOString();
}

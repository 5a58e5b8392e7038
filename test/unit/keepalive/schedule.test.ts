import { describe, expect, it } from 'vitest';
import type { Account } from '#shared/accounts/model.ts';
import { dueAccounts, nextRefreshAt, providerNextRefreshAt } from '#shared/keepalive/schedule.ts';
import type { KeepaliveSettings } from '#shared/settings/provider.ts';
import { buildAccount } from '#test/helpers/accounts.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');
const iso = (offsetMinutes: number) => new Date(NOW + offsetMinutes * 60_000).toISOString();

function account(overrides: Partial<Account>): Account {
  return buildAccount('claude', { tokenExpiresAt: iso(24 * 60), lastRefreshAt: iso(0), ...overrides });
}

const settings = (overrides: Partial<KeepaliveSettings> = {}): KeepaliveSettings => ({
  enabled: true,
  intervalHours: 6,
  lastRefreshAt: null,
  nextRefreshAt: null,
  lastResult: null,
  ...overrides,
});

describe('keep-alive schedule', () => {
  it('is due once the interval has passed since the last refresh', () => {
    const fresh = account({ id: 'fresh', lastRefreshAt: iso(-5 * 60) });
    const stale = account({ id: 'stale', lastRefreshAt: iso(-6 * 60) });
    expect(
      dueAccounts({ accounts: [fresh, stale], settings: settings(), leadMinutes: 60 }, NOW).map((a) => a.id),
    ).toEqual(['stale']);
  });

  it('is due inside the provider’s lead time before expiry, whatever the interval', () => {
    const expiring = account({ id: 'expiring', lastRefreshAt: iso(-10), tokenExpiresAt: iso(59) });
    const later = account({ id: 'later', lastRefreshAt: iso(-10), tokenExpiresAt: iso(61) });
    expect(
      dueAccounts({ accounts: [expiring, later], settings: settings({ intervalHours: 24 }), leadMinutes: 60 }, NOW).map(
        (a) => a.id,
      ),
    ).toEqual(['expiring']);
  });

  it('skips disabled providers, API-key accounts and accounts that need reconnecting', () => {
    const old = { lastRefreshAt: iso(-48 * 60) };
    expect(
      dueAccounts({ accounts: [account(old)], settings: settings({ enabled: false }), leadMinutes: 60 }, NOW),
    ).toEqual([]);
    expect(
      dueAccounts({ accounts: [account({ ...old, kind: 'api_key' })], settings: settings(), leadMinutes: 60 }, NOW),
    ).toEqual([]);
    expect(
      dueAccounts(
        { accounts: [account({ ...old, status: 'needs_reconnect' })], settings: settings(), leadMinutes: 60 },
        NOW,
      ),
    ).toEqual([]);
    expect(
      dueAccounts(
        { accounts: [account({ ...old, status: 'refresh_failed' })], settings: settings(), leadMinutes: 60 },
        NOW,
      ),
    ).toHaveLength(1);
  });

  it('refreshes an account never refreshed at once', () => {
    expect(nextRefreshAt(account({ lastRefreshAt: null }), { settings: settings(), leadMinutes: 60 })).toBe(0);
  });

  it('reports the provider’s next refresh as the soonest of interval and lead time', () => {
    const a = account({ lastRefreshAt: iso(-60), tokenExpiresAt: iso(24 * 60) });
    const b = account({ lastRefreshAt: iso(0), tokenExpiresAt: iso(90) });
    expect(providerNextRefreshAt({ accounts: [a, b], settings: settings(), leadMinutes: 60 })).toBe(iso(30));
    expect(providerNextRefreshAt({ accounts: [a], settings: settings(), leadMinutes: 60 })).toBe(iso(5 * 60));
    expect(
      providerNextRefreshAt({ accounts: [a], settings: settings({ enabled: false }), leadMinutes: 60 }),
    ).toBeNull();
    expect(providerNextRefreshAt({ accounts: [], settings: settings(), leadMinutes: 60 })).toBeNull();
  });
});

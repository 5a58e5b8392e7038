import { describe, expect, it } from 'vitest';
import type { Account } from '#shared/accounts/model.ts';
import type { KeepaliveSettings } from '#shared/accounts/settings.ts';
import { dueAccounts, nextRefreshAt, providerNextRefreshAt } from '#shared/keepalive/schedule.ts';
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
    expect(dueAccounts([fresh, stale], settings(), 60, NOW).map((a) => a.id)).toEqual(['stale']);
  });

  it('is due inside the provider’s lead time before expiry, whatever the interval', () => {
    const expiring = account({ id: 'expiring', lastRefreshAt: iso(-10), tokenExpiresAt: iso(59) });
    const later = account({ id: 'later', lastRefreshAt: iso(-10), tokenExpiresAt: iso(61) });
    expect(dueAccounts([expiring, later], settings({ intervalHours: 24 }), 60, NOW).map((a) => a.id)).toEqual([
      'expiring',
    ]);
  });

  it('skips disabled providers, API-key accounts and accounts that need reconnecting', () => {
    const old = { lastRefreshAt: iso(-48 * 60) };
    expect(dueAccounts([account(old)], settings({ enabled: false }), 60, NOW)).toEqual([]);
    expect(dueAccounts([account({ ...old, kind: 'api_key' })], settings(), 60, NOW)).toEqual([]);
    expect(dueAccounts([account({ ...old, status: 'needs_reconnect' })], settings(), 60, NOW)).toEqual([]);
    expect(dueAccounts([account({ ...old, status: 'refresh_failed' })], settings(), 60, NOW)).toHaveLength(1);
  });

  it('refreshes an account never refreshed at once', () => {
    expect(nextRefreshAt(account({ lastRefreshAt: null }), settings(), 60)).toBe(0);
  });

  it('reports the provider’s next refresh as the soonest of interval and lead time', () => {
    const a = account({ lastRefreshAt: iso(-60), tokenExpiresAt: iso(24 * 60) });
    const b = account({ lastRefreshAt: iso(0), tokenExpiresAt: iso(90) });
    expect(providerNextRefreshAt([a, b], settings(), 60)).toBe(iso(30));
    expect(providerNextRefreshAt([a], settings(), 60)).toBe(iso(5 * 60));
    expect(providerNextRefreshAt([a], settings({ enabled: false }), 60)).toBeNull();
    expect(providerNextRefreshAt([], settings(), 60)).toBeNull();
  });
});

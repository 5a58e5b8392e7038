import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Account } from '#shared/accounts/model.ts';
import { freshen, refreshInProcess } from '#shared/launch/freshen.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';

const expired = {
  provider: 'claude',
  id: 'acc_0123456789abcdef0123',
  kind: 'oauth',
  tokenExpiresAt: '2026-11-22T00:00:00.000Z',
} as Account;

// freshen reads the configuration, which needs a table name; nothing here touches the table.
process.env.KEYFLEET_TABLE_NAME ??= 'keyfleet-unit';

afterEach(() => refreshInProcess(refreshAccount));

describe('freshen without a refresh function', () => {
  it('runs the in-process refresher it was given, with the account, validity and force', async () => {
    const refreshed = { ...expired, tokenExpiresAt: '2026-11-23T00:00:00.000Z' };
    const refresher = vi.fn(async () => ({ outcome: 'refreshed', account: refreshed }));
    refreshInProcess(refresher as unknown as typeof refreshAccount);
    expect(await freshen(expired, 60_000, { force: true })).toBe(refreshed);
    expect(refresher).toHaveBeenCalledWith({
      provider: 'claude',
      accountId: 'acc_0123456789abcdef0123',
      minValidityMs: 60_000,
      force: true,
    });
  });

  it('refuses clearly when neither a refresh function nor an in-process refresher is set', async () => {
    refreshInProcess(undefined);
    await expect(freshen(expired, 60_000)).rejects.toThrow(
      'KEYFLEET_REFRESH_FUNCTION_NAME is not set and no in-process refresher was given.',
    );
  });

  it('leaves an account alone whose token outlives the wanted validity', async () => {
    refreshInProcess(undefined);
    const fresh = { ...expired, tokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    expect(await freshen(fresh, 60_000)).toBe(fresh);
  });
});

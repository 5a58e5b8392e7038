import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getAccount } from '#shared/accounts/store.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import { type RefreshOutcome, refreshAccount } from '#shared/oauth/refresh.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { type SignedInAccount, signIn } from '#test/helpers/sign-in.ts';

let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;

beforeAll(async () => {
  // Its own server and table: the sweep here sees only the accounts this file signs in.
  ({ oauth, api, stop } = await startOAuthApi((overrides) => {
    overrides.codex = { ...overrides.codex, refreshLeadMinutes: 10 };
  }));
});
afterAll(() => stop());

const refreshTokensSent = () =>
  oauth.requests
    .filter((r) => r.path === '/token' && r.body.grant_type === 'refresh_token')
    .map((r) => String(r.body.refresh_token));
const storedRefreshToken = async (account: SignedInAccount) =>
  String((await readSecret(`keyfleet/test/${account.provider}/${account.id}`)).value.refresh_token);

describe('the keep-alive sweep and refreshes made since it read the accounts', () => {
  it('regression: a sweep leaves alone an account a launch refreshed after the sweep read it', async () => {
    const first = await signIn(api, oauth, 'codex', 'swept-first');
    const second = await signIn(api, oauth, 'codex', 'swept-second');
    const firstToken = await storedRefreshToken(first);
    const secondToken = await storedRefreshToken(second);
    // Seven hours on, both are due (Codex's keep-alive interval is 6 h).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 7 * 3_600_000 });
    try {
      const sent = refreshTokensSent().length;
      let launched: RefreshOutcome | undefined;
      // While the sweep refreshes the first account, a launch refreshes the second; a second passes.
      const launch = async () => {
        launched = await refreshAccount({ provider: 'codex', accountId: second.id, force: true });
        vi.setSystemTime(Date.now() + 1_000);
      };
      oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_request' }, before: launch });
      const summary = await sweep({ concurrency: 1, startsPerSecond: 50 });

      expect(launched).toMatchObject({ result: 'ok', refreshed: true });
      // The sweep's call for the first account and the launch's; the sweep did not refresh the second again.
      expect(refreshTokensSent().slice(sent)).toEqual([firstToken, secondToken]);
      expect(summary).toMatchObject({ due: 2, refreshed: 1, failed: 1, providers: { codex: { due: 2, failed: 1 } } });
      expect(await getAccount('codex', second.id)).toMatchObject({
        status: 'connected',
        lastRefreshAt: launched?.account.lastRefreshAt,
      });
      expect(await storedRefreshToken(second)).toBe(launched?.tokens?.refresh_token);
    } finally {
      vi.useRealTimers();
    }
  });
});

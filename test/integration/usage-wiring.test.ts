import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { getAccount } from '#shared/accounts/store.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { readSecret } from '#shared/vault/vault.ts';
import type { TestApi } from '#test/helpers/api.ts';
import { startOAuthApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { type FakeUsage, type FakeUsageAccount, startFakeUsage } from '#test/helpers/fake-usage.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

const MINUTE = 60_000;
const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
};

let fake: FakeUsage;
let ecs: FakeEcs;
let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;
/** What the fake provider answers for each account, by account id (whatever its current token). */
const profiles = new Map<string, FakeUsageAccount>();
const mine: { provider: ProviderId; id: string }[] = [];
/** Every access token the accounts held, for the leak checks. */
const tokensSeen = new Set<string>();

async function accessTokenOf(provider: ProviderId, id: string): Promise<string> {
  const account = await getAccount(provider, id);
  const token = String((await readSecret(account?.secretName ?? '')).value.access_token ?? '');
  tokensSeen.add(token);
  return token;
}

beforeAll(async () => {
  fake = await startFakeUsage();
  // The provider knows every token its OAuth server issued, including those a refresh just issued.
  fake.lookup = async (token) => {
    for (const { provider, id } of mine) {
      if ((await accessTokenOf(provider, id)) === token) return profiles.get(id);
    }
    return undefined;
  };
  ecs = await startFakeEcs();
  ({ oauth, api, stop } = await startOAuthApi(
    (overrides) => {
      // The local server's tokens live 1 h: a 10-minute lead keeps fresh sign-ins from being due at once.
      overrides.claude = { ...overrides.claude, usageEndpoint: fake.endpoints.claude, refreshLeadMinutes: 10 };
      overrides.codex = { ...overrides.codex, usageEndpoint: fake.endpoints.codex, refreshLeadMinutes: 10 };
    },
    { AWS_ENDPOINT_URL_ECS: ecs.endpoint },
  ));
});
afterAll(async () => {
  await stop();
  await ecs.close();
  await fake.close();
});
// The table starts empty for each test: so do the accounts the fake provider knows.
beforeEach(() => {
  mine.length = 0;
  profiles.clear();
});
afterEach(() => {
  vi.useRealTimers();
  fake.answers.clear();
  const logs = capturedLogs();
  const responses = api.responses.join('\n');
  for (const token of tokensSeen) {
    expect(logs).not.toContain(token);
    expect(responses).not.toContain(token);
  }
});

async function connect(provider: 'claude' | 'codex', login: string, profile: FakeUsageAccount) {
  const account = await signIn(api, oauth, provider, login);
  mine.push({ provider, id: account.id });
  profiles.set(account.id, profile);
  await accessTokenOf(provider, account.id);
  return account.id;
}

type UsageView = {
  plan: string | null;
  readAt: string;
  windows: { name: string; usedPercent: number; resetsAt: string | null }[];
};
type AccountView = { id: string; status: string; lastRefreshAt: string | null; usage: UsageView | null };

async function accountsOf(provider: ProviderId): Promise<Map<string, AccountView>> {
  const res = await api.call<{ provider: { accounts: AccountView[] } }>('GET', `/v1/providers/${provider}`);
  return new Map(res.body.provider.accounts.map((a) => [a.id, a]));
}

const claudeUsage = (fiveHour: number, sevenDay: number) => ({
  five_hour: { utilization: fiveHour, resets_at: '2999-01-01T05:00:00+00:00' },
  seven_day: { utilization: sevenDay, resets_at: '2999-01-06T00:00:00Z' },
  extra_usage: { is_enabled: false },
  some_new_field: { anything: true },
});

describe('the keep-alive sweep reads each OAuth account’s usage', () => {
  let first: string;
  let second: string;
  let start: number;

  // Each test: two freshly signed-in Claude accounts (one-hour tokens) whose usage was never read.
  beforeEach(async () => {
    first = await connect('claude', 'usage-one', { usage: claudeUsage(42, 7) });
    second = await connect('claude', 'usage-two', { usage: claudeUsage(96, 12.5) });
    start = Date.now();
  });

  /** A first sweep reads both accounts' usage; the answer is what the tests then expect to keep. */
  async function readOnce(): Promise<void> {
    expect((await sweep({ now: start })).usage).toEqual({ due: 2, read: 2, failed: 0 });
  }

  it('reads usage with each account’s own token, stores it on the account, and reads again only after the interval', async () => {
    const summary = await sweep({ now: start });
    expect(summary).toMatchObject({ due: 0, refreshed: 0, failed: 0, usage: { due: 2, read: 2, failed: 0 } });
    const requests = fake.seen.filter((s) => s.route === 'claude');
    expect(requests.map((s) => [s.method, s.path, s.headers['anthropic-beta']])).toEqual([
      ['GET', '/api/oauth/usage', 'oauth-2025-04-20'],
      ['GET', '/api/oauth/usage', 'oauth-2025-04-20'],
    ]);
    expect(requests.map((s) => s.headers.authorization).sort()).toEqual(
      [`Bearer ${await accessTokenOf('claude', first)}`, `Bearer ${await accessTokenOf('claude', second)}`].sort(),
    );
    const readAt = new Date(start).toISOString();
    const accounts = await accountsOf('claude');
    expect(accounts.get(first)?.usage).toEqual({
      plan: null,
      readAt,
      windows: [
        { name: 'five_hour', usedPercent: 42, resetsAt: '2999-01-01T05:00:00.000Z' },
        { name: 'seven_day', usedPercent: 7, resetsAt: '2999-01-06T00:00:00.000Z' },
      ],
    });
    expect(accounts.get(second)?.usage?.windows.map((w) => w.usedPercent)).toEqual([96, 12.5]);

    // Five minutes later nothing is due; after the 10-minute default both are read again.
    const before = fake.seen.length;
    expect((await sweep({ now: start + 5 * MINUTE })).usage).toEqual({ due: 0, read: 0, failed: 0 });
    expect(fake.seen.length).toBe(before);
    profiles.set(first, { usage: claudeUsage(55, 8) });
    expect((await sweep({ now: start + 11 * MINUTE })).usage).toEqual({ due: 2, read: 2, failed: 0 });
    expect((await accountsOf('claude')).get(first)?.usage?.windows[0]?.usedPercent).toBe(55);
    expect(await api.tableDump()).not.toContain(await accessTokenOf('claude', first));
  });

  it.each([
    ['401 (a token the endpoint refuses)', { status: 401, body: { type: 'error' } }],
    ['429 with Retry-After', { status: 429, body: { type: 'error' }, headers: { 'retry-after': '120' } }],
    ['a slow 503', { status: 503, body: 'upstream connect error', delayMs: 300 }],
    ['an answer that is not a JSON object', { status: 200, body: '<html>moved</html>' }],
  ])(
    'a usage endpoint answering %s changes nothing else: the refresh works and the status stays',
    async (_, answer) => {
      await readOnce();
      fake.answers.set('claude', answer);
      const before = await accountsOf('claude');
      // Two hours on: the 1-hour tokens need a refresh, and the usage is due again.
      const now = start + 2 * 60 * MINUTE;
      vi.useFakeTimers({ toFake: ['Date'], now });
      const summary = await sweep({ now });
      expect(summary.providers.claude).toEqual({ enabled: true, due: 2, failed: 0 });
      expect(summary.usage).toEqual({ due: 2, read: 0, failed: 2 });
      const after = await accountsOf('claude');
      for (const id of [first, second]) {
        expect(after.get(id)?.status).toBe('connected');
        expect(Date.parse(after.get(id)?.lastRefreshAt ?? '')).toBeGreaterThan(
          Date.parse(before.get(id)?.lastRefreshAt ?? ''),
        );
        expect(after.get(id)?.usage).toEqual(before.get(id)?.usage);
        await accessTokenOf('claude', id);
      }
    },
  );

  it('regression: a sweep reads no usage for an account whose refresh just failed in it', async () => {
    await readOnce();
    // Two hours on both tokens are due; the provider refuses the first refresh it sees for good.
    const clock = start + 2 * 60 * MINUTE;
    vi.useFakeTimers({ toFake: ['Date'], now: clock });
    oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_grant' } });
    const asked = fake.seen.length;
    const summary = await sweep({ now: clock });
    expect(summary.providers.claude).toEqual({ enabled: true, due: 2, failed: 1 });
    expect(summary.usage).toEqual({ due: 1, read: 1, failed: 0 });
    const after = await accountsOf('claude');
    const refused = [first, second].filter((id) => after.get(id)?.status !== 'connected');
    const working = [first, second].filter((id) => after.get(id)?.status === 'connected');
    expect([refused.length, working.length]).toEqual([1, 1]);
    const reads = fake.seen.slice(asked).filter((s) => s.route === 'claude');
    expect(reads.map((s) => s.headers.authorization)).toEqual([
      `Bearer ${await accessTokenOf('claude', working[0] as string)}`,
    ]);
  });

  it('a usage answer whose shape changed reads as no known window and changes nothing else', async () => {
    await readOnce();
    fake.answers.set('claude', { status: 200, body: { five_hour: { percent: 'high' }, seven_day: 'soon', plan: 7 } });
    const before = await accountsOf('claude');
    const clock = start + 2 * 60 * MINUTE;
    vi.useFakeTimers({ toFake: ['Date'], now: clock });
    const summary = await sweep({ now: clock });
    expect(summary.providers.claude).toEqual({ enabled: true, due: 2, failed: 0 });
    expect(summary.usage).toEqual({ due: 2, read: 2, failed: 0 });
    const after = await accountsOf('claude');
    for (const id of [first, second]) {
      expect(after.get(id)).toMatchObject({
        status: 'connected',
        usage: { plan: null, readAt: new Date(clock).toISOString(), windows: [] },
      });
      expect(after.get(id)?.lastRefreshAt).not.toBe(before.get(id)?.lastRefreshAt);
      await accessTokenOf('claude', id);
    }
  });

  it('the account Test action refreshes, then reads and stores the usage, with its detail unchanged', async () => {
    profiles.set(second, { usage: claudeUsage(71, 30) });
    const res = await api.call<{ ok: boolean; detail: string }>('POST', `/v1/providers/claude/accounts/${second}/test`);
    expect(res.body).toEqual({ ok: true, detail: 'Refreshed the access token.' });
    await accessTokenOf('claude', second);
    expect((await accountsOf('claude')).get(second)?.usage?.windows.map((w) => w.usedPercent)).toEqual([71, 30]);

    fake.answers.set('claude', { status: 429, body: {} });
    const asked = fake.seen.length;
    const failed = await api.call<{ ok: boolean; detail: string }>(
      'POST',
      `/v1/providers/claude/accounts/${second}/test`,
    );
    expect(failed.body).toEqual({ ok: true, detail: 'Refreshed the access token.' });
    expect(fake.seen.slice(asked).map((s) => s.route)).toEqual(['claude']);
    await accessTokenOf('claude', second);
    expect((await accountsOf('claude')).get(second)?.usage?.windows.map((w) => w.usedPercent)).toEqual([71, 30]);
  });
});

type Launched = { launch: { accountId: string; warnings: string[] } };
type Err = { error: { code: string; message: string } };
const launch = () =>
  api.call<Launched & Err>('POST', '/v1/launches', { as: 'alice', body: { provider: 'codex', ecs: ECS } });

function codexUsage(usedPercent: number, resetAt: number) {
  return {
    plan_type: 'pro',
    rate_limit: {
      primary_window: { used_percent: usedPercent, limit_window_seconds: 18_000, reset_at: Math.floor(resetAt / 1000) },
      secondary_window: null,
    },
    credits: { has_credits: false, unlimited: false, balance: '0' },
  };
}

async function launches(count: number): Promise<Record<string, number>> {
  const results = await Promise.all(Array.from({ length: count }, () => launch()));
  const counts: Record<string, number> = {};
  for (const r of results) {
    expect(r.status).toBe(201);
    counts[r.body.launch.accountId] = (counts[r.body.launch.accountId] ?? 0) + 1;
  }
  return counts;
}

/**
 * Three pooled Codex accounts (the first one connected is the active one), the second at 97 % of
 * its five-hour window until `resetAt`, their usage read at `now`.
 */
async function pooledThree(now: number, resetAt: number): Promise<{ a: string; full: string; c: string }> {
  const a = await connect('codex', 'pool-a', { usage: codexUsage(10, now + 3 * 60 * MINUTE) });
  const full = await connect('codex', 'pool-full', { usage: codexUsage(97, resetAt) });
  const c = await connect('codex', 'pool-c', { usage: codexUsage(20, now + 3 * 60 * MINUTE) });
  for (const id of [a, full, c]) {
    const res = await api.call('PATCH', `/v1/providers/codex/accounts/${id}`, { body: { roundRobin: true } });
    expect(res.status).toBe(200);
  }
  const summary = await sweep({ now });
  expect(summary.usage).toMatchObject({ read: 3, failed: 0 });
  return { a, full, c };
}

describe('acceptance: the pool avoids an exhausted account until its window resets', () => {
  it('sends 30 launches 15/15 to two pooled accounts while the third is at 97 % of its five-hour window, then all three again', async () => {
    const now = Date.now();
    const resetAt = now + 40 * MINUTE;
    const { a, full, c } = await pooledThree(now, resetAt);
    expect((await accountsOf('codex')).get(full)?.usage).toEqual({
      plan: 'pro',
      readAt: new Date(now).toISOString(),
      windows: [
        { name: 'five_hour', usedPercent: 97, resetsAt: new Date(Math.floor(resetAt / 1000) * 1000).toISOString() },
      ],
    });

    expect(await launches(30)).toEqual({ [a]: 15, [c]: 15 });

    // The window has reset (the stored reading is now stale): the account is back in strict rotation.
    vi.useFakeTimers({ toFake: ['Date'], now: resetAt + MINUTE });
    expect(await launches(3)).toEqual({ [a]: 1, [full]: 1, [c]: 1 });
  });

  it('falls through to the active OAuth account with a warning when the whole pool is exhausted, and names the earliest reset when nothing is usable', async () => {
    const now = Date.now();
    const { a, full, c } = await pooledThree(now, now + 40 * MINUTE);
    const resets = [now + 50 * MINUTE, now + 30 * MINUTE, now + 70 * MINUTE];
    const pool = [a, full, c];
    pool.forEach((id, i) => {
      profiles.set(id, { usage: codexUsage(99, resets[i] ?? now) });
    });
    // Read again after the interval.
    vi.useFakeTimers({ toFake: ['Date'], now: now + 11 * MINUTE });
    await sweep({ now: now + 11 * MINUTE });
    const stored = await accountsOf('codex');
    expect(pool.map((id) => stored.get(id)?.usage?.windows[0]?.usedPercent)).toEqual([99, 99, 99]);
    const earliest = new Date(Math.floor((now + 30 * MINUTE) / 1000) * 1000).toISOString();

    const active = (await api.call<{ provider: { activeAccountId: string } }>('GET', '/v1/providers/codex')).body
      .provider.activeAccountId;
    const fellThrough = await launch();
    expect(fellThrough.status).toBe(201);
    expect(fellThrough.body.launch.accountId).toBe(active);
    expect(fellThrough.body.launch.warnings).toContain(
      `Every codex round-robin account is at its usage limit or cooling down (the earliest is usable again at ${earliest}); the active account was used instead.`,
    );

    expect((await api.call('PUT', '/v1/providers/codex/active', { body: { accountId: null } })).status).toBe(200);
    const refused = await launch();
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'provider_not_configured',
      message: `No usable codex account: every round-robin account is at its usage limit or cooling down; the earliest is usable again at ${earliest}.`,
    });
  });
});

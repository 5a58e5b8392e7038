import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as refreshHandler } from '#functions/refresh.ts';
import { getAccount } from '#shared/accounts/store.ts';
import { paced, type SweepSummary } from '#shared/keepalive/sweeper.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ oauth, api, stop } = await startOAuthApi((overrides) => {
    // The local server's access tokens live 1 h; Codex's default 1-day lead time would make them due at once.
    overrides.codex = { ...overrides.codex, refreshLeadMinutes: 10 };
  }));
});
afterAll(() => stop());

type Settings = {
  defaultAgent: string;
  models: Record<string, string | null>;
  keepalive: Record<
    string,
    {
      enabled: boolean;
      intervalHours: number;
      lastRefreshAt: string | null;
      nextRefreshAt: string | null;
      lastResult: string | null;
    }
  >;
};

const refreshCalls = () => oauth.requests.filter((r) => r.body.grant_type === 'refresh_token').length;

describe('settings', () => {
  it('reads defaults for every provider', async () => {
    const res = await api.call<Settings>('GET', '/v1/settings');
    expect(res.body.defaultAgent).toBe('claude');
    expect(Object.keys(res.body.keepalive)).toEqual(['claude', 'codex', 'gemini', 'bob', 'grok']);
    expect(res.body.keepalive.codex).toEqual({
      enabled: true,
      intervalHours: 6,
      lastRefreshAt: null,
      nextRefreshAt: null,
      lastResult: null,
    });
    expect(res.body.models.claude).toBeNull();
  });

  it('changes keep-alive, models and the default agent partially', async () => {
    const res = await api.call<Settings>('PATCH', '/v1/settings', {
      body: {
        defaultAgent: 'codex',
        models: { codex: 'gpt-5-codex' },
        keepalive: { gemini: { enabled: false }, grok: { intervalHours: 12 } },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.defaultAgent).toBe('codex');
    expect(res.body.models.codex).toBe('gpt-5-codex');
    expect(res.body.keepalive.gemini?.enabled).toBe(false);
    expect(res.body.keepalive.grok?.intervalHours).toBe(12);
    expect(res.body.keepalive.claude?.intervalHours).toBe(6);
    const provider = await api.call<{ provider: { model: string; keepalive: { enabled: boolean } } }>(
      'GET',
      '/v1/providers/gemini',
    );
    expect(provider.body.provider.keepalive.enabled).toBe(false);
  });

  it.each([0, 25, 1.5, '6', null])(
    'refuses intervalHours %j with validation_failed and changes nothing',
    async (intervalHours) => {
      const before = await api.call<Settings>('GET', '/v1/settings');
      const res = await api.call<{ error: { code: string; details: { path: string }[] } }>('PATCH', '/v1/settings', {
        body: { models: { claude: 'should-not-apply' }, keepalive: { claude: { intervalHours } } },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d) => d.path)).toEqual(['body.keepalive.claude.intervalHours']);
      expect((await api.call<Settings>('GET', '/v1/settings')).body).toEqual(before.body);
    },
  );

  it('refuses unknown providers and fields, and members', async () => {
    expect(
      (await api.call('PATCH', '/v1/settings', { body: { keepalive: { mistral: { enabled: true } } } })).status,
    ).toBe(400);
    expect((await api.call('PATCH', '/v1/settings', { body: { colour: 'blue' } })).status).toBe(400);
    expect((await api.call('PATCH', '/v1/settings', { body: { defaultAgent: 'mistral' } })).status).toBe(400);
    expect((await api.call('GET', '/v1/settings', { as: 'alice' })).status).toBe(403);
  });
});

describe('the sweeper (refresh function)', () => {
  it('refreshes only what is due, skips disabled providers, and records status', async () => {
    await api.call('PATCH', '/v1/settings', {
      body: { keepalive: { codex: { enabled: true, intervalHours: 1 }, claude: { enabled: false } } },
    });
    const codex = await signIn(api, oauth, 'codex', 'sweepy');
    const claude = await signIn(api, oauth, 'claude', 'sleepy');
    const claudeRefreshedAt = (await getAccount('claude', claude.id))?.lastRefreshAt;

    // Just signed in: nothing is due yet.
    let before = refreshCalls();
    let summary = (await refreshHandler({}, {} as Context)) as SweepSummary;
    expect(summary.due).toBe(0);
    expect(refreshCalls()).toBe(before);

    // Two hours later the codex interval (1 h) has passed; claude's keep-alive is off.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3_600_000 });
    try {
      before = refreshCalls();
      summary = (await refreshHandler({}, {} as Context)) as SweepSummary;
      expect(summary.providers.codex).toMatchObject({ enabled: true, due: 1, failed: 0 });
      expect(summary.providers.claude).toMatchObject({ enabled: false, due: 0 });
      expect(refreshCalls() - before).toBe(1);
      const refreshed = await getAccount('codex', codex.id);
      expect(Date.parse(refreshed?.lastRefreshAt ?? '')).toBeGreaterThan(Date.now() - 60_000);

      const settings = await api.call<Settings>('GET', '/v1/settings');
      expect(settings.body.keepalive.codex).toMatchObject({ lastResult: 'ok' });
      // Next: the interval after this refresh, or 10 minutes (lead) before the new token expires.
      const expected = Math.min(
        Date.parse(refreshed?.lastRefreshAt ?? '') + 3_600_000,
        Date.parse(refreshed?.tokenExpiresAt ?? '') - 10 * 60_000,
      );
      expect(Date.parse(settings.body.keepalive.codex?.nextRefreshAt ?? '')).toBe(expected);
      expect(settings.body.keepalive.claude?.nextRefreshAt).toBeNull();
      expect((await getAccount('claude', claude.id))?.lastRefreshAt).toBe(claudeRefreshedAt);
    } finally {
      vi.useRealTimers();
    }
  });

  it('records a failed sweep on the provider', async () => {
    await api.call('PATCH', '/v1/settings', { body: { keepalive: { gemini: { enabled: true, intervalHours: 1 } } } });
    await signIn(api, oauth, 'gemini', 'faily');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3_600_000 });
    try {
      oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_grant' } });
      const summary = (await refreshHandler({}, {} as Context)) as SweepSummary;
      expect(summary).toMatchObject({ due: 1, failed: 1 });
      expect(summary.providers.gemini).toMatchObject({ enabled: true, due: 1, failed: 1 });
      const settings = await api.call<Settings>('GET', '/v1/settings');
      expect(settings.body.keepalive.gemini?.lastResult).toBe('failed');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('pacing', () => {
  it('never runs more than the concurrency limit at once and keeps the start rate', async () => {
    let running = 0;
    let peak = 0;
    const starts: number[] = [];
    const tasks = Array.from({ length: 12 }, () => async () => {
      starts.push(Date.now());
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return true;
    });
    const results = await paced(tasks, 3, 200);
    expect(results).toHaveLength(12);
    expect(peak).toBeLessThanOrEqual(3);
    // 12 starts at 200/s: the last starts no sooner than 11 gaps of 5 ms after the first.
    expect((starts.at(-1) ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(50);
  });
});

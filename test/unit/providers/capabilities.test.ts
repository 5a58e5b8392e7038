import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildProviders, type UsageApi } from '#shared/providers/index.ts';
import { grantFromRedeemed } from '#shared/proxy/grant.ts';
import { newPlaceholder, proxyProfileFor } from '#shared/proxy/profiles.ts';
import { isProxyProvider, type ProxyKind, ROUTES } from '#shared/proxy/routes.ts';
import { readUsage } from '#shared/usage/read.ts';
import { type FakeUsage, type FakeUsageRoute, startFakeUsage } from '#test/helpers/fake-usage.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';

const providers = [...buildProviders({}).values()];
const KINDS: ProxyKind[] = ['oauth', 'api_key'];
const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const UPSTREAM = 'http://127.0.0.1:4555';
const PROXY_URL = 'http://127.0.0.1:8790';

describe('the proxy flag of the provider definitions', () => {
  it('is set exactly for the providers the proxy has a route, a grant reader and an agent profile for', () => {
    for (const provider of providers) {
      const routed = KINDS.filter((kind) => `${provider.id}:${kind}` in ROUTES);
      expect(isProxyProvider(provider.id), provider.id).toBe(provider.proxy);
      expect(routed, provider.id).toEqual(provider.proxy ? KINDS : []);
      if (!provider.proxy) continue;
      for (const kind of KINDS) {
        const id = provider.id as Parameters<typeof realCredential>[0];
        const credential = realCredential(id, kind, NOW + 3600_000);
        const redeemed = ticketProfile(id, kind, { upstream: UPSTREAM, credential, taskToken: 'task-token-cap-1' });
        const grant = grantFromRedeemed(redeemed);
        expect(grant, `${provider.id}:${kind}`).toMatchObject({ provider: provider.id, kind });
        expect(grant.credential.reveal()).toBe(credential);
        const placeholder = newPlaceholder(id, kind, NOW);
        const agent = JSON.stringify(proxyProfileFor(grant, PROXY_URL, placeholder, NOW));
        expect(agent, `${provider.id}:${kind}`).toContain(placeholder);
        expect(agent, `${provider.id}:${kind}`).not.toContain(credential);
      }
    }
  });

  it('names every provider in the route table as one the proxy serves', () => {
    const routedIds = new Set(Object.keys(ROUTES).map((key) => key.split(':')[0]));
    expect([...routedIds].sort()).toEqual(
      providers
        .filter((p) => p.proxy)
        .map((p) => p.id)
        .sort(),
    );
  });

  it('makes the proxy refuse a ticket of a provider without the flag, before reading any credential', () => {
    for (const provider of providers.filter((p) => !p.proxy)) {
      const redeemed = {
        provider: provider.id,
        taskToken: 'task-token-cap-2',
        expiresAt: new Date(NOW + 3600_000).toISOString(),
        env: {},
        files: [],
      };
      expect(() => grantFromRedeemed(redeemed)).toThrow(
        `keyfleet proxy: provider "${provider.id}" cannot be served through the proxy`,
      );
    }
  });
});

/** The requests each allowance API makes against the fake provider (which speaks the real shapes). */
const ROUTES_OF: Record<UsageApi, FakeUsageRoute[]> = {
  anthropic_oauth: ['claude'],
  chatgpt_wham: ['codex'],
  code_assist: ['loadCodeAssist', 'retrieveUserQuota'],
};

describe('the usage API of the provider definitions', () => {
  let fake: FakeUsage;
  let savedLoopback: string | undefined;
  beforeAll(async () => {
    fake = await startFakeUsage();
    savedLoopback = process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS;
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
  });
  afterAll(async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = savedLoopback;
    await fake.close();
  });
  beforeEach(() => {
    fake.seen.length = 0;
    fake.accounts.clear();
  });

  it('is set exactly for the providers with a built-in usage endpoint', () => {
    for (const provider of providers) {
      expect(provider.usageApi !== null, provider.id).toBe(provider.usageEndpoint !== undefined);
    }
  });

  it('reads each provider’s allowance through the requests its usage API names', async () => {
    const token = 'usage-capability-token-5e1d';
    fake.accounts.set(token, {
      usage: { five_hour: { utilization: 10, resets_at: null } },
      chatgptAccountId: 'acct-cap-1',
      geminiProject: 'kf-project-cap',
      geminiTier: 'standard-tier',
      buckets: [],
    });
    for (const provider of providers.filter((p) => p.usageApi !== null)) {
      fake.seen.length = 0;
      const result = await readUsage(
        { provider: provider.id, accessToken: token, chatgptAccountId: 'acct-cap-1' },
        { endpoints: fake.endpoints, now: () => NOW },
      );
      expect(result.ok, provider.id).toBe(true);
      expect(
        fake.seen.map((s) => s.route),
        provider.id,
      ).toEqual(ROUTES_OF[provider.usageApi as UsageApi]);
    }
    expect(capturedLogs()).not.toContain(token);
  });

  it('regression: a provider without a usage API (grok) sends nothing even when an override gives it a usage endpoint', async () => {
    const token = 'xai-usage-token-never-sent-77b0';
    fake.accounts.set(token, { usage: { plan_type: 'plus' } });
    const endpoints = { ...fake.endpoints, grok: fake.endpoints.codex };
    expect(await readUsage({ provider: 'grok', accessToken: token }, { endpoints, now: () => NOW })).toEqual({
      ok: false,
      kind: 'unsupported',
      detail: 'grok has no usage endpoint with a known answer shape',
      status: null,
      retryAfterMs: null,
    });
    expect(fake.seen).toEqual([]);
  });
});

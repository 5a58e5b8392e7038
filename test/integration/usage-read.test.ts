import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readUsage } from '#shared/usage/read.ts';
import { type FakeUsage, startFakeUsage } from '#test/helpers/fake-usage.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

const CLAUDE_TOKEN = 'sk-ant-oat01-usage-claude-access-7f3a';
const CODEX_TOKEN = 'eyJ.codex-usage-access.9b1c';
const GEMINI_TOKEN = 'ya29.gemini-usage-access-44d2';
const NEW_GEMINI_TOKEN = 'ya29.gemini-not-onboarded-81e0';
const UNKNOWN_TOKEN = 'sk-ant-oat01-revoked-usage-token-0000';
const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const now = () => NOW;

const CLAUDE_BODY = {
  five_hour: { utilization: 97.0, resets_at: '2026-03-02T12:59:59.600956+00:00' },
  seven_day: { utilization: 36.0, resets_at: '2026-03-08T06:59:59.600974+00:00' },
  seven_day_opus: null,
  iguana_necktie: null,
  extra_usage: { is_enabled: false, monthly_limit: null, used_credits: null, utilization: null },
};
const CODEX_BODY = {
  plan_type: 'plus',
  rate_limit: {
    allowed: true,
    limit_reached: false,
    primary_window: { used_percent: 12, limit_window_seconds: 18000, reset_after_seconds: 3600, reset_at: 1772449200 },
    secondary_window: { used_percent: 40, limit_window_seconds: 604800, reset_after_seconds: 1, reset_at: 1772900000 },
  },
  credits: { has_credits: false, unlimited: false, balance: '0' },
};

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
  fake.answers.clear();
  fake.accounts.clear();
  fake.accounts.set(CLAUDE_TOKEN, { usage: CLAUDE_BODY });
  fake.accounts.set(CODEX_TOKEN, { usage: CODEX_BODY, chatgptAccountId: 'acct-chatgpt-1' });
  fake.accounts.set(GEMINI_TOKEN, {
    geminiProject: 'kf-project-1',
    geminiTier: 'standard-tier',
    buckets: [
      { modelId: 'gemini-2.5-pro', tokenType: 'REQUESTS', remainingFraction: 0.2, resetTime: '2026-03-03T00:00:00Z' },
    ],
  });
  fake.accounts.set(NEW_GEMINI_TOKEN, { geminiProject: null });
});
afterEach(() => {
  for (const token of [CLAUDE_TOKEN, CODEX_TOKEN, GEMINI_TOKEN, NEW_GEMINI_TOKEN, UNKNOWN_TOKEN]) {
    expect(capturedLogs()).not.toContain(token);
  }
});

const options = (extra: Parameters<typeof readUsage>[1] = {}) => ({ endpoints: fake.endpoints, now, ...extra });

describe('reading an account’s allowance from the providers’ usage endpoints', () => {
  it('reads Claude’s windows with the bearer and the OAuth beta header, nothing else', async () => {
    const result = await readUsage(
      { provider: 'claude', accessToken: CLAUDE_TOKEN },
      options({ userAgent: 'claude-cli/2.1.330 (external, cli)' }),
    );
    expect(result).toEqual({
      ok: true,
      usage: {
        plan: null,
        readAt: '2026-03-02T10:00:00.000Z',
        windows: [
          { name: 'five_hour', usedPercent: 97, resetsAt: '2026-03-02T12:59:59.600Z' },
          { name: 'seven_day', usedPercent: 36, resetsAt: '2026-03-08T06:59:59.600Z' },
        ],
        credits: { enabled: false, unlimited: null, balance: null, used: null, monthlyLimit: null },
      },
    });
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]).toMatchObject({ route: 'claude', method: 'GET', path: '/api/oauth/usage', body: '' });
    expect(fake.seen[0]?.headers).toMatchObject({
      authorization: `Bearer ${CLAUDE_TOKEN}`,
      'anthropic-beta': 'oauth-2025-04-20',
      accept: 'application/json',
      'user-agent': 'claude-cli/2.1.330 (external, cli)',
    });
  });

  it('reads Codex’s windows, plan and credits, sending the ChatGPT account id', async () => {
    const result = await readUsage(
      { provider: 'codex', accessToken: CODEX_TOKEN, chatgptAccountId: 'acct-chatgpt-1' },
      options(),
    );
    expect(result).toEqual({
      ok: true,
      usage: {
        plan: 'plus',
        readAt: '2026-03-02T10:00:00.000Z',
        windows: [
          { name: 'five_hour', usedPercent: 12, resetsAt: '2026-03-02T11:00:00.000Z' },
          { name: 'seven_day', usedPercent: 40, resetsAt: '2026-03-07T16:13:20.000Z' },
        ],
        credits: { enabled: false, unlimited: false, balance: '0', used: null, monthlyLimit: null },
      },
    });
    expect(fake.seen[0]).toMatchObject({ route: 'codex', method: 'GET', path: '/backend-api/wham/usage' });
    expect(fake.seen[0]?.headers).toMatchObject({
      authorization: `Bearer ${CODEX_TOKEN}`,
      'chatgpt-account-id': 'acct-chatgpt-1',
    });
  });

  it('sends no ChatGPT-Account-Id when the account has none, and reports the refusal of a mismatched one', async () => {
    fake.accounts.set(CODEX_TOKEN, { usage: CODEX_BODY });
    expect(
      (await readUsage({ provider: 'codex', accessToken: CODEX_TOKEN, chatgptAccountId: null }, options())).ok,
    ).toBe(true);
    expect(fake.seen[0]?.headers['chatgpt-account-id']).toBeUndefined();
    fake.accounts.set(CODEX_TOKEN, { usage: CODEX_BODY, chatgptAccountId: 'acct-chatgpt-1' });
    const refused = await readUsage(
      { provider: 'codex', accessToken: CODEX_TOKEN, chatgptAccountId: 'acct-other' },
      options(),
    );
    expect(refused).toEqual({
      ok: false,
      kind: 'unauthorized',
      detail: 'the usage endpoint refused the access token',
      status: 403,
      retryAfterMs: null,
    });
  });

  it('reads Gemini’s daily quotas with loadCodeAssist then retrieveUserQuota for the account’s project', async () => {
    const result = await readUsage({ provider: 'gemini', accessToken: GEMINI_TOKEN }, options());
    expect(result).toEqual({
      ok: true,
      usage: {
        plan: 'standard-tier',
        readAt: '2026-03-02T10:00:00.000Z',
        windows: [{ name: 'daily_gemini-2.5-pro', usedPercent: 80, resetsAt: '2026-03-03T00:00:00.000Z' }],
        credits: null,
      },
    });
    expect(
      fake.seen.map((s) => [s.route, s.method, s.headers.authorization, s.headers['content-type'], JSON.parse(s.body)]),
    ).toEqual([
      [
        'loadCodeAssist',
        'POST',
        `Bearer ${GEMINI_TOKEN}`,
        'application/json',
        { metadata: { ideType: 'IDE_UNSPECIFIED', platform: 'PLATFORM_UNSPECIFIED', pluginType: 'GEMINI' } },
      ],
      ['retrieveUserQuota', 'POST', `Bearer ${GEMINI_TOKEN}`, 'application/json', { project: 'kf-project-1' }],
    ]);
  });

  it('reports only the tier of a Gemini account not onboarded to Code Assist, without asking for quotas', async () => {
    const result = await readUsage({ provider: 'gemini', accessToken: NEW_GEMINI_TOKEN }, options());
    expect(result).toEqual({
      ok: true,
      usage: { plan: null, readAt: '2026-03-02T10:00:00.000Z', windows: [], credits: null },
    });
    expect(fake.seen.map((s) => s.route)).toEqual(['loadCodeAssist']);
  });

  it('answers unsupported for grok and bob without any request', async () => {
    for (const provider of ['grok', 'bob'] as const) {
      expect(await readUsage({ provider, accessToken: 'xai-token-unused' }, options())).toEqual({
        ok: false,
        kind: 'unsupported',
        detail: `${provider} has no usage endpoint with a known answer shape`,
        status: null,
        retryAfterMs: null,
      });
    }
    expect(fake.seen).toEqual([]);
  });

  it('ignores extra fields and reads missing windows as unknown', async () => {
    fake.accounts.set(CLAUDE_TOKEN, {
      usage: { seven_day: { utilization: 5, resets_at: null, newField: [1] }, tier: 'x' },
    });
    fake.accounts.set(CODEX_TOKEN, { usage: { plan_type: 'pro', rate_limit: { primary_window: null }, surprise: {} } });
    const claude = await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options());
    const codex = await readUsage({ provider: 'codex', accessToken: CODEX_TOKEN }, options());
    expect(claude).toMatchObject({
      ok: true,
      usage: { windows: [{ name: 'seven_day', usedPercent: 5, resetsAt: null }] },
    });
    expect(codex).toMatchObject({ ok: true, usage: { plan: 'pro', windows: [], credits: null } });
  });
});

describe('a usage endpoint that fails gives a typed failure and never throws', () => {
  it('reports an unknown or revoked token as unauthorized, without echoing it', async () => {
    const result = await readUsage({ provider: 'claude', accessToken: UNKNOWN_TOKEN }, options());
    expect(result).toEqual({
      ok: false,
      kind: 'unauthorized',
      detail: 'the usage endpoint refused the access token',
      status: 401,
      retryAfterMs: null,
    });
    expect(JSON.stringify(result)).not.toContain(UNKNOWN_TOKEN);
  });

  it('is refused by the fake Claude endpoint without the OAuth beta header, as by the real one', async () => {
    const direct = await fetch(fake.endpoints.claude as string, {
      headers: { authorization: `Bearer ${CLAUDE_TOKEN}` },
    });
    expect(direct.status).toBe(401);
    expect(await direct.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'OAuth authentication is currently not supported.' },
    });
  });

  it('reports a 429 with its Retry-After', async () => {
    fake.answers.set('claude', {
      status: 429,
      headers: { 'retry-after': '120' },
      body: { error: { type: 'rate_limit_error' } },
    });
    expect(await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options())).toEqual({
      ok: false,
      kind: 'rate_limited',
      detail: 'the usage endpoint is rate limited',
      status: 429,
      retryAfterMs: 120_000,
    });
  });

  it('reports a 5xx, a body that is not JSON and a JSON array as failures with fixed phrases', async () => {
    fake.answers.set('codex', { status: 502, body: '<html>bad gateway</html>' });
    expect(
      await readUsage({ provider: 'codex', accessToken: CODEX_TOKEN, chatgptAccountId: 'acct-chatgpt-1' }, options()),
    ).toEqual({
      ok: false,
      kind: 'upstream_status',
      detail: 'the usage endpoint answered HTTP 502',
      status: 502,
      retryAfterMs: null,
    });
    const badJson = {
      ok: false,
      kind: 'bad_response',
      detail: 'the usage endpoint answered something other than a JSON object',
    };
    fake.answers.set('claude', { status: 200, body: '{"five_hour": {"utilization": 9' });
    expect(await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options())).toMatchObject(badJson);
    fake.answers.set('claude', { status: 200, body: [{ utilization: 100 }] });
    expect(await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options())).toMatchObject(badJson);
  });

  it('reports a failing Code Assist quota call after a good loadCodeAssist', async () => {
    fake.answers.set('retrieveUserQuota', { status: 500, body: { error: { code: 500 } } });
    expect(await readUsage({ provider: 'gemini', accessToken: GEMINI_TOKEN }, options())).toMatchObject({
      ok: false,
      kind: 'upstream_status',
      status: 500,
    });
    expect(fake.seen.map((s) => s.route)).toEqual(['loadCodeAssist', 'retrieveUserQuota']);
  });

  it('gives up on a slow answer after the timeout', async () => {
    fake.answers.set('claude', { delayMs: 2_000 });
    const started = Date.now();
    const result = await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options({ timeoutMs: 200 }));
    expect(result).toEqual({
      ok: false,
      kind: 'network',
      detail: 'the usage endpoint could not be reached: timed out',
      status: null,
      retryAfterMs: null,
      network: 'timed out',
    });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('is refused by the address guard when loopback calls are not allowed, before any request', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    try {
      const result = await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, options());
      expect(result).toMatchObject({ ok: false, kind: 'network', network: 'address not allowed' });
    } finally {
      process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
    }
    expect(fake.seen).toEqual([]);
  });

  it('reports a port nobody listens on as could not connect', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const endpoints = { ...fake.endpoints, claude: `http://127.0.0.1:${port}/api/oauth/usage` };
    expect(await readUsage({ provider: 'claude', accessToken: CLAUDE_TOKEN }, { endpoints, now })).toMatchObject({
      ok: false,
      kind: 'network',
      network: 'could not connect',
    });
  });
});

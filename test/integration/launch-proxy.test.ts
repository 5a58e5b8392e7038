import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as taskStopped } from '#functions/task-stopped.ts';
import { getAccount } from '#shared/accounts/store.ts';
import type { Redeemed } from '#shared/cli/exec.ts';
import { config } from '#shared/config.ts';
import type { LaunchView } from '#shared/launch/launch.ts';
import { ecsRunner, setTaskRunner } from '#shared/launch/runner.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * Proxy delivery (issue 15): which launches may use it, what RunTask carries to which container,
 * and the proxy's side of the container routes (`POST /v1/tasks/usage`, `recover=true`).
 */

let oauth: OAuthServer;
let ecs: FakeEcs;
let api: TestApi;

const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent-proxy:3',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
};
const CLAUDE_KEY = 'sk-ant-api03-launch-proxy-key-0001';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

beforeAll(async () => {
  oauth = await startOAuthServer();
  ecs = await startFakeEcs();
  api = await startTestApi({
    KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(oauth.overrides()),
    AWS_ENDPOINT_URL_ECS: ecs.endpoint,
  });
});
afterAll(async () => {
  await api.stop();
  await ecs.close();
  await oauth.close();
});
// Each test launches on the team's Claude key unless it signs in its own account.
beforeEach(async () => {
  const added = await api.call('POST', '/v1/providers/claude/accounts', {
    body: { kind: 'api_key', label: 'Claude API', apiKey: CLAUDE_KEY },
  });
  expect(added.status).toBe(201);
});
afterEach(() => {
  vi.useRealTimers();
});

type Err = { error: { code: string; message: string; details?: { path: string; message: string }[] } };
type Override = { name: string; command?: string[]; environment: { name: string; value: string }[] };
type Usage = { requests: number; inputTokens: number; outputTokens: number; statusCounts: Record<string, number> };

const launch = (body: Record<string, unknown>, as: 'admin' | 'alice' | 'bob' = 'alice') =>
  api.call<{ launch: LaunchView } & Err>('POST', '/v1/launches', { as, body: { ecs: ECS, ...body } });

const overridesOf = (runTask: Record<string, unknown> | undefined): Override[] =>
  (runTask?.overrides as { containerOverrides: Override[] } | undefined)?.containerOverrides ?? [];

/** The ticket from whichever container received it. */
function lastTicket(): string {
  for (const override of overridesOf(ecs.runTasks.at(-1))) {
    const found = override.environment.find((e) => e.name === 'KEYFLEET_TICKET');
    if (found) return found.value;
  }
  return '';
}

const redeem = (ticket: string) => api.call<Redeemed & Err>('POST', '/v1/tickets/redeem', { body: { ticket } });

const report = (taskToken: string | undefined, body: unknown) =>
  api.call<Err>('POST', '/v1/tasks/usage', {
    body,
    headers: taskToken === undefined ? { authorization: '' } : { authorization: `Bearer ${taskToken}` },
  });

const shown = async (id: string) =>
  (await api.call<{ launch: Record<string, unknown> }>('GET', `/v1/launches/${id}`, { as: 'alice' })).body.launch;

/** A started and redeemed proxy launch, as its sidecar sees it. */
/** Every ticket and task token the proxy tasks of this file were given, for the secrets check. */
const issued: { tickets: string[]; taskTokens: string[] } = { tickets: [], taskTokens: [] };

async function proxyTask(body: Record<string, unknown>) {
  const started = await launch({ delivery: 'proxy', ...body });
  expect(started.status).toBe(201);
  const ticket = lastTicket();
  const redeemed = await redeem(ticket);
  expect(redeemed.status).toBe(200);
  issued.tickets.push(ticket);
  issued.taskTokens.push(redeemed.body.taskToken);
  return { launch: started.body.launch, profile: redeemed.body, taskToken: redeemed.body.taskToken };
}

const USAGE = { requests: 3, inputTokens: 1200, outputTokens: 340, statusCounts: { '200': 3 } };

async function accountItem(provider: 'claude' | 'codex', id: string): Promise<Record<string, unknown>> {
  const out = await documentClient().send(
    new GetCommand({ TableName: config().tableName, Key: accountKey(provider, id), ConsistentRead: true }),
  );
  return out.Item ?? {};
}

// No ticket, task token or credential reaches the logs or the table; RunTask carries each ticket
// (to the sidecar), never a task token or a key.
checkNoLeaksAfterEach(() => [CLAUDE_KEY, ...issued.tickets, ...issued.taskTokens], { table: () => api.tableDump() });
checkNoLeaksAfterEach(() => [CLAUDE_KEY, ...issued.taskTokens], { other: () => ecs.raw.join('\n') });

describe('launching with delivery "proxy"', () => {
  it('gives the ticket and Keyfleet’s URL to the keyfleet-proxy sidecar only, the agent its command and variables', async () => {
    const res = await launch({
      provider: 'claude',
      delivery: 'proxy',
      ecs: { ...ECS, command: ['claude', '-p', 'hi'], environment: { REPO: 'org/app' } },
    });
    expect(res.status).toBe(201);
    const input = ecs.runTasks.at(-1);
    expect(input?.overrides).toEqual({
      containerOverrides: [
        { name: 'agent', command: ['claude', '-p', 'hi'], environment: [{ name: 'REPO', value: 'org/app' }] },
        {
          name: 'keyfleet-proxy',
          environment: [
            { name: 'KEYFLEET_TICKET', value: expect.stringMatching(/^kfk_[A-Za-z0-9_-]{43}$/) },
            { name: 'KEYFLEET_URL', value: api.base },
          ],
        },
      ],
    });
    expect(ecs.raw.at(-1)).not.toContain(CLAUDE_KEY);
    expect(await shown(res.body.launch.id)).toMatchObject({ delivery: 'proxy', status: 'starting' });
  });

  it('gives the agent container an empty environment when the caller sets none', async () => {
    const res = await launch({ provider: 'claude', delivery: 'proxy' });
    expect(res.status).toBe(201);
    expect(overridesOf(ecs.runTasks.at(-1))[0]).toEqual({ name: 'agent', environment: [] });
  });

  it('takes the environment’s delivery unless the launch names its own', async () => {
    const put = await api.call('PUT', '/v1/environments/sealed', { body: { delivery: 'proxy', providers: {} } });
    expect(put.status).toBe(200);
    const fromEnvironment = await launch({ provider: 'claude', environment: 'sealed' });
    expect(fromEnvironment.status).toBe(201);
    expect(overridesOf(ecs.runTasks.at(-1)).map((o) => o.name)).toEqual(['agent', 'keyfleet-proxy']);
    expect(await shown(fromEnvironment.body.launch.id)).toMatchObject({ delivery: 'proxy' });

    const own = await launch({ provider: 'claude', environment: 'sealed', delivery: 'ticket' });
    expect(overridesOf(ecs.runTasks.at(-1)).map((o) => o.name)).toEqual(['agent']);
    expect(await shown(own.body.launch.id)).toMatchObject({ delivery: 'ticket' });

    const plain = await launch({ provider: 'claude' });
    expect(await shown(plain.body.launch.id)).toMatchObject({ delivery: 'ticket' });
  });

  it.each(['grok', 'bob'])('refuses proxy delivery for %s with conflict and starts nothing', async (provider) => {
    const before = ecs.runTasks.length;
    const res = await launch({ provider, delivery: 'proxy' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(res.body.error.message).toMatch(
      /cannot use proxy delivery: keyfleet proxy serves Claude, Codex and Gemini only/,
    );
    expect(ecs.runTasks.length).toBe(before);
  });

  it('refuses proxy delivery for a keyless account with conflict and starts nothing', async () => {
    const keyless = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'none', label: 'Local model', endpoint: { type: 'custom', baseUrl: 'http://localhost:11434' } },
    });
    const before = ecs.runTasks.length;
    const res = await launch({ provider: 'claude', delivery: 'proxy', preferredAccountId: keyless.body.account.id });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({
      code: 'conflict',
      message:
        'The Claude (Anthropic) account "Local model" has no credential for the proxy to hold (it is keyless). Launch with delivery "ticket".',
    });
    expect(ecs.runTasks.length).toBe(before);
  });

  it.each([
    ['the sidecar as the container', { container: 'keyfleet-proxy' }, 'body.ecs.container'],
    [
      'KEYFLEET_ variables',
      { environment: { KEYFLEET_PROXY_URL: 'http://127.0.0.1:1' } },
      'body.ecs.environment.KEYFLEET_PROXY_URL',
    ],
  ])('refuses %s with validation_failed in either delivery', async (_name, ecsChange, path) => {
    const before = ecs.runTasks.length;
    for (const delivery of ['proxy', 'ticket']) {
      const res = await launch({ provider: 'claude', delivery, ecs: { ...ECS, ...ecsChange } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details?.map((d) => d.path)).toEqual([path]);
    }
    expect(ecs.runTasks.length).toBe(before);
  });

  it('refuses proxy delivery on a task runner that cannot start the proxy, and starts nothing', async () => {
    const started: string[] = [];
    setTaskRunner({ kind: 'local', run: async (request) => `local:task/${started.push(request.launchId)}` });
    try {
      const res = await launch({ provider: 'claude', delivery: 'proxy', ecs: { command: ['true'] } });
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({
        code: 'conflict',
        message:
          'This server\'s local task runner cannot start a keyfleet proxy beside the agent. Launch with delivery "ticket".',
      });
      expect((await launch({ provider: 'claude', ecs: { command: ['true'] } })).status).toBe(201);
      expect(started).toHaveLength(1);
    } finally {
      setTaskRunner(ecsRunner);
    }
  });

  it('refuses a delivery it does not know', async () => {
    const res = await launch({ provider: 'claude', delivery: 'sidecar' });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.map((d) => d.path)).toEqual(['body.delivery']);
  });

  it('gives a long Claude task no token-life warning: the proxy renews the token', async () => {
    const claude = await signIn(api, oauth, 'claude', 'proxy-long');
    const task = await proxyTask({ provider: 'claude', preferredAccountId: claude.id, maxDurationMinutes: 600 });
    expect(task.launch.warnings).toEqual([]);
    expect(Object.keys(task.profile.env)).toContain('CLAUDE_CODE_OAUTH_TOKEN');
  });

  it('gives a long Gemini task no refresh token and no warning: the proxy renews the access token', async () => {
    const gemini = await signIn(api, oauth, 'gemini', 'proxy-gem');
    const task = await proxyTask({ provider: 'gemini', preferredAccountId: gemini.id, maxDurationMinutes: 180 });
    expect(task.launch.warnings).toEqual([]);
    expect(task.profile.files.map((f) => f.path)).toEqual(['.gemini/settings.json']);
    expect(task.profile.env.GOOGLE_CLOUD_ACCESS_TOKEN).toBe(
      (await readSecret(`keyfleet/test/gemini/${gemini.id}`)).value.access_token,
    );
    const refreshToken = String((await readSecret(`keyfleet/test/gemini/${gemini.id}`)).value.refresh_token);
    expect(JSON.stringify(task.profile)).not.toContain(refreshToken);
    const audit = await api.call<{ events: { action: string; detail?: Record<string, unknown> }[] }>(
      'GET',
      '/v1/audit?limit=20',
    );
    const started = audit.body.events.find(
      (e) => e.action === 'launch.started' && e.detail?.launchId === task.launch.id,
    );
    expect(started?.detail).toMatchObject({ delivery: 'proxy', refreshTokenDelivered: false, warnings: [] });
  });
});

describe('POST /v1/tasks/usage', () => {
  it.each([
    [{ ...USAGE, requests: -1 }, 'body.requests'],
    [{ ...USAGE, inputTokens: 1.5 }, 'body.inputTokens'],
    [{ ...USAGE, outputTokens: '3' }, 'body.outputTokens'],
    [{ ...USAGE, statusCounts: { '600': 1 } }, 'body.statusCounts.600'],
    [{ ...USAGE, statusCounts: { '200': -2 } }, 'body.statusCounts.200'],
    [
      { ...USAGE, statusCounts: Object.fromEntries(Array.from({ length: 61 }, (_, i) => [String(200 + i), 1])) },
      'body.statusCounts',
    ],
    [{ ...USAGE, extra: true }, 'body'],
    [{ requests: 1, inputTokens: 0, outputTokens: 0 }, 'body.statusCounts'],
    [{ ...USAGE, rateLimit: { limited: false, resetsAt: '2030-01-01T00:00:00Z' } }, 'body.rateLimit.limited'],
    [{ ...USAGE, rateLimit: { limited: true, resetsAt: 'tomorrow' } }, 'body.rateLimit.resetsAt'],
    [
      { ...USAGE, rateLimit: { limited: true, resetsAt: '2030-01-01T00:00:00Z', window: 'Five Hours!' } },
      'body.rateLimit.window',
    ],
  ])('refuses %j with validation_failed and stores nothing', async (body, path) => {
    const task = await proxyTask({ provider: 'claude' });
    const res = await report(task.taskToken, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details?.map((d) => d.path)).toContain(path);
    expect((await shown(task.launch.id)).usage).toBeUndefined();
  });

  it('accepts 60 status codes, zero totals and a reset with a time-zone offset', async () => {
    const task = await proxyTask({ provider: 'claude' });
    const statusCounts = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [String(200 + i), 0]));
    const body = { requests: 0, inputTokens: 0, outputTokens: 0, statusCounts };
    expect((await report(task.taskToken, body)).status).toBe(204);
    expect((await shown(task.launch.id)).usage).toEqual(body);
    const offset = { ...body, rateLimit: { limited: true, resetsAt: '2020-01-01T10:00:00+02:00' } };
    expect((await report(task.taskToken, offset)).status).toBe(204);
  });

  it('needs the launch’s task token', async () => {
    expect((await report(undefined, USAGE)).status).toBe(401);
    expect((await report(`kft_${'A'.repeat(43)}`, USAGE)).status).toBe(401);
  });

  it('refuses a ticket-delivery launch’s task token: its agent holds that token', async () => {
    const started = await launch({ provider: 'claude', delivery: 'ticket' });
    const { taskToken } = (await redeem(lastTicket())).body;
    const res = await report(taskToken, USAGE);
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({
      code: 'conflict',
      message: 'Only a proxy-delivery launch reports usage; this launch uses ticket delivery.',
    });
    expect((await shown(started.body.launch.id)).usage).toBeUndefined();
  });

  it('keeps the launch’s cumulative totals, ignores an older report, and adds to the account’s totals', async () => {
    const codex = await signIn(api, oauth, 'codex', 'usage-totals');
    const task = await proxyTask({ provider: 'codex', preferredAccountId: codex.id });
    const before = Date.now();

    expect((await report(task.taskToken, USAGE)).status).toBe(204);
    expect((await shown(task.launch.id)).usage).toEqual(USAGE);

    const older = { requests: 2, inputTokens: 900, outputTokens: 200, statusCounts: { '200': 2 } };
    expect((await report(task.taskToken, older)).status).toBe(204);
    expect((await shown(task.launch.id)).usage).toEqual(USAGE);

    const later: Usage = { requests: 5, inputTokens: 2000, outputTokens: 500, statusCounts: { '200': 4, '429': 1 } };
    expect((await report(task.taskToken, later)).status).toBe(204);
    expect((await shown(task.launch.id)).usage).toEqual(later);

    // A second launch on the same account adds its own.
    const second = await proxyTask({ provider: 'codex', preferredAccountId: codex.id });
    expect((await report(second.taskToken, USAGE)).status).toBe(204);
    const item = await accountItem('codex', codex.id);
    expect(item).toMatchObject({ usedRequests: 8, usedInputTokens: 3200, usedOutputTokens: 840 });
    expect(Date.parse(String(item.lastUsedAt))).toBeGreaterThanOrEqual(before);
    const listed = await api.call<{ provider: { accounts: { id: string; lastUsedAt: string | null }[] } }>(
      'GET',
      '/v1/providers/codex',
    );
    expect(listed.body.provider.accounts.find((a) => a.id === codex.id)?.lastUsedAt).toBe(item.lastUsedAt);
    expect(await api.tableDump()).not.toContain(task.taskToken);
  });

  it('puts a rate-limited account in cooling_down, audited, and the next launches pick another pool account', async () => {
    const first = await signIn(api, oauth, 'codex', 'pool-one');
    const second = await signIn(api, oauth, 'codex', 'pool-two');
    for (const account of [first, second]) {
      await api.call('PATCH', `/v1/providers/codex/accounts/${account.id}`, { body: { roundRobin: true } });
    }
    const pool = new Set([first.id, second.id]);
    const task = await proxyTask({ provider: 'codex' });
    const limited = task.launch.accountId;
    const other = [...pool].find((id) => id !== limited);
    expect(pool.has(limited)).toBe(true);

    const resetsAt = new Date(Date.now() + 3 * 3600_000).toISOString();
    const limit = {
      ...USAGE,
      statusCounts: { '200': 2, '429': 1 },
      rateLimit: { limited: true, resetsAt, window: 'five_hour' },
    };
    expect((await report(task.taskToken, limit)).status).toBe(204);
    const account = await getAccount('codex', limited);
    expect({ status: account?.status, cooldownUntil: account?.cooldownUntil }).toEqual({
      status: 'cooling_down',
      cooldownUntil: resetsAt,
    });
    const audit = await api.call<{ events: { action: string; accountId?: string; detail?: unknown }[] }>(
      'GET',
      '/v1/audit?limit=10',
    );
    expect(audit.body.events.find((e) => e.action === 'account.updated' && e.accountId === limited)?.detail).toEqual({
      status: 'cooling_down',
      cooldownUntil: resetsAt,
      reason: 'rate_limited',
      launchId: task.launch.id,
      window: 'five_hour',
    });

    const picked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await launch({ provider: 'codex', delivery: 'proxy' });
      expect(next.status).toBe(201);
      picked.push(next.body.launch.accountId);
    }
    expect(picked).toEqual([other, other, other]);
  });

  it('warns when every pool account cools down and the active account is used instead', async () => {
    const active = await signIn(api, oauth, 'gemini', 'fallback-active');
    const pooled = await signIn(api, oauth, 'gemini', 'fallback-pooled');
    await api.call('PUT', '/v1/providers/gemini/active', { body: { accountId: active.id } });
    await api.call('PATCH', `/v1/providers/gemini/accounts/${pooled.id}`, { body: { roundRobin: true } });
    const task = await proxyTask({ provider: 'gemini', preferredAccountId: pooled.id });
    const resetsAt = new Date(Date.now() + 3600_000).toISOString();
    expect((await report(task.taskToken, { ...USAGE, rateLimit: { limited: true, resetsAt } })).status).toBe(204);

    const next = await launch({ provider: 'gemini', delivery: 'proxy' });
    expect(next.status).toBe(201);
    expect(next.body.launch.accountId).toBe(active.id);
    expect(next.body.launch.warnings).toEqual([
      `Every gemini round-robin account is at its usage limit or cooling down (the earliest is usable again at ${resetsAt}); the active account was used instead.`,
    ]);
  });

  it('never shortens a later cooldown, caps one at eight days, and ignores a reset already past', async () => {
    const codex = await signIn(api, oauth, 'codex', 'cooldown-rules');
    const task = await proxyTask({ provider: 'codex', preferredAccountId: codex.id });
    const cooldown = async () => (await getAccount('codex', codex.id))?.cooldownUntil;

    const now = Date.now();
    const far = new Date(now + 30 * DAY).toISOString();
    expect((await report(task.taskToken, { ...USAGE, rateLimit: { limited: true, resetsAt: far } })).status).toBe(204);
    const capped = Date.parse(String(await cooldown()));
    expect(capped).toBeGreaterThanOrEqual(now + 8 * DAY);
    expect(capped).toBeLessThan(now + 8 * DAY + MINUTE);

    const sooner = new Date(now + 3600_000).toISOString();
    const res = await report(task.taskToken, { ...USAGE, requests: 4, rateLimit: { limited: true, resetsAt: sooner } });
    expect(res.status).toBe(204);
    expect(Date.parse(String(await cooldown()))).toBe(capped);

    const fresh = await signIn(api, oauth, 'codex', 'cooldown-past');
    const other = await proxyTask({ provider: 'codex', preferredAccountId: fresh.id });
    const past = new Date(now - MINUTE).toISOString();
    expect((await report(other.taskToken, { ...USAGE, rateLimit: { limited: true, resetsAt: past } })).status).toBe(
      204,
    );
    expect(await getAccount('codex', fresh.id)).toMatchObject({ status: 'connected', cooldownUntil: null });
  });

  // A successful refresh used to set `connected` and clear `cooldownUntil`, so a keep-alive or a
  // proxy's renewal ended a usage-limit cooldown hours early.
  it('regression: a successful token refresh keeps a rate-limit cooldown the proxy reported', async () => {
    const codex = await signIn(api, oauth, 'codex', 'cooldown-refresh');
    const task = await proxyTask({ provider: 'codex', preferredAccountId: codex.id });
    const resetsAt = new Date(Date.now() + 3 * 3600_000).toISOString();
    expect((await report(task.taskToken, { ...USAGE, rateLimit: { limited: true, resetsAt } })).status).toBe(204);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    const renewed = await api.call('GET', '/v1/tasks/token?provider=codex&recover=true', {
      headers: { authorization: `Bearer ${task.taskToken}` },
    });
    expect(renewed.status).toBe(200);
    expect(await getAccount('codex', codex.id)).toMatchObject({ status: 'cooling_down', cooldownUntil: resetsAt });
  });

  it('accepts a stopped task’s final report for five minutes, and nothing else from its token', async () => {
    const task = await proxyTask({ provider: 'claude' });
    const result = await taskStopped({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: { lastStatus: 'STOPPED', startedBy: task.launch.id, taskArn: task.launch.taskArn },
    } as never);
    expect(result).toEqual({ revoked: true });
    expect(
      (await api.call('GET', '/v1/tasks/token', { headers: { authorization: `Bearer ${task.taskToken}` } })).status,
    ).toBe(401);

    expect((await report(task.taskToken, USAGE)).status).toBe(204);
    expect((await shown(task.launch.id)).usage).toEqual(USAGE);

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * MINUTE + 1000 });
    expect((await report(task.taskToken, { ...USAGE, requests: 9 })).status).toBe(401);
    vi.useRealTimers();
    expect((await shown(task.launch.id)).usage).toEqual(USAGE);
  });
});

describe('GET /v1/tasks/token?recover=true', () => {
  const token = (taskToken: string, query: string) =>
    api.call<{ access_token: string; expires_in: number } & Err>('GET', `/v1/tasks/token?${query}`, {
      headers: { authorization: `Bearer ${taskToken}` },
    });
  const refreshes = () => oauth.requests.filter((r) => r.path === '/token' && r.body.grant_type === 'refresh_token');

  it('refreshes a token that has not expired, at most once per 30 seconds per account', async () => {
    const claude = await signIn(api, oauth, 'claude', 'recover-me');
    const task = await proxyTask({ provider: 'claude', preferredAccountId: claude.id });
    const held = task.profile.env.CLAUDE_CODE_OAUTH_TOKEN;

    const plain = await token(task.taskToken, 'provider=claude');
    expect(plain.body.access_token).toBe(held);

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    const before = refreshes().length;
    const recovered = await token(task.taskToken, 'provider=claude&recover=true');
    expect(recovered.status).toBe(200);
    expect(recovered.body.access_token).not.toBe(held);
    expect(recovered.body.access_token).toBe(
      (await readSecret(`keyfleet/test/claude/${claude.id}`)).value.access_token,
    );
    expect(refreshes().length).toBe(before + 1);

    const again = await token(task.taskToken, 'provider=claude&recover=true');
    expect(again.body.access_token).toBe(recovered.body.access_token);
    expect(refreshes().length).toBe(before + 1);
  });

  it('refuses a recover value other than true or false', async () => {
    const task = await proxyTask({
      provider: 'claude',
      preferredAccountId: (await signIn(api, oauth, 'claude', 'r2')).id,
    });
    const res = await token(task.taskToken, 'provider=claude&recover=yes');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'bad_request', message: 'recover must be true or false.' });
  });
});

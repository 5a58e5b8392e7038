import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as taskStopped } from '#functions/task-stopped.ts';
import type { Redeemed } from '#shared/cli/exec.ts';
import { hashOf } from '#shared/launch/hash.ts';
import type { LaunchView } from '#shared/launch/launch.ts';
import { deleteSecret, readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { type SignedInAccount, signIn } from '#test/helpers/sign-in.ts';

let oauth: OAuthServer;
let ecs: FakeEcs;
let api: TestApi;

const CLAUDE_KEY = 'sk-ant-api03-launch-test-key-0001';
const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
};

beforeAll(async () => {
  oauth = await startOAuthServer();
  ecs = await startFakeEcs();
  api = await startTestApi({
    KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(oauth.overrides()),
    AWS_ENDPOINT_URL_ECS: ecs.endpoint,
    KEYFLEET_LAUNCH_CLUSTERS: 'arn:aws:ecs:eu-west-1:111122223333:cluster/agents',
    KEYFLEET_LAUNCH_TASK_FAMILIES: 'agent',
  });
});
afterAll(async () => {
  await api.stop();
  await ecs.close();
  await oauth.close();
});

type Launch = LaunchView;
type Err = { error: { code: string; message: string; details?: { path: string }[] } };

const launch = (body: Record<string, unknown>, as: 'admin' | 'alice' | 'bob' = 'alice') =>
  api.call<{ launch: Launch } & Err>('POST', '/v1/launches', { as, body: { ecs: ECS, ...body } });

function ticketOf(runTask: Record<string, unknown> | undefined): string {
  const overrides = (runTask?.overrides as {
    containerOverrides: { environment: { name: string; value: string }[] }[];
  }) ?? {
    containerOverrides: [],
  };
  return overrides.containerOverrides[0]?.environment.find((e) => e.name === 'KEYFLEET_TICKET')?.value ?? '';
}

const redeem = (ticket: string) => api.call<Redeemed & Err>('POST', '/v1/tickets/redeem', { body: { ticket } });

let claudeKeyAccount: string;
let codex: SignedInAccount;

// Each test: the team's Claude key and a signed-in Codex account, both active (the table starts empty).
beforeEach(async () => {
  const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
    body: { kind: 'api_key', label: 'Claude API', apiKey: CLAUDE_KEY },
  });
  claudeKeyAccount = added.body.account.id;
  codex = await signIn(api, oauth, 'codex', 'pooled');
});

// No token, key or ticket reaches RunTask (beyond the ticket itself), the logs or the table.
checkNoLeaksAfterEach(
  async () => {
    const secrets = new Set<string>([CLAUDE_KEY, 'sk-ant-api03-bob-own-key-0002', 'sk-ant-api03-short-lived-key-0004']);
    for (const r of oauth.requests)
      for (const k of ['refresh_token', 'code_verifier'])
        if (typeof r.body[k] === 'string') secrets.add(String(r.body[k]));
    const stored = (await readSecret(`keyfleet/test/codex/${codex.id}`)).value;
    secrets.add(String(stored.access_token));
    secrets.add(String(stored.id_token));
    return secrets;
  },
  { table: () => api.tableDump(), other: () => ecs.raw.join('\n') },
);
afterEach(async () => {
  const logs = capturedLogs();
  const table = await api.tableDump();
  for (const ticket of ecs.runTasks.map(ticketOf).filter(Boolean)) {
    expect(logs.includes(ticket), 'a ticket in the logs').toBe(false);
    expect(table.includes(ticket), 'a ticket in the table').toBe(false);
  }
});

describe('POST /v1/launches', () => {
  it('starts the task with exactly the ticket, the URL and the caller’s variables in RunTask', async () => {
    const res = await launch({
      provider: 'claude',
      maxDurationMinutes: 30,
      ecs: { ...ECS, command: ['claude', '-p', 'hi'], environment: { REPO: 'org/app' } },
    });
    expect(res.status).toBe(201);
    const { launch: started } = res.body;
    expect(started).toEqual({
      id: expect.stringMatching(/^lch_[a-f0-9]{20}$/),
      provider: 'claude',
      accountId: claudeKeyAccount,
      accountLabel: 'Claude API',
      taskArn: `arn:aws:ecs:eu-west-1:111122223333:task/agents/${started.id}`,
      expiresAt: expect.any(String),
      warnings: [],
    });
    const request = ecs.runTasks.at(-1);
    expect(request).toEqual({
      cluster: 'agents',
      taskDefinition: 'agent:7',
      launchType: 'FARGATE',
      count: 1,
      clientToken: started.id,
      startedBy: started.id,
      enableECSManagedTags: true,
      propagateTags: 'TASK_DEFINITION',
      tags: [
        { key: 'keyfleet:launch', value: started.id },
        { key: 'keyfleet:provider', value: 'claude' },
        { key: 'keyfleet:account', value: claudeKeyAccount },
      ],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ECS.subnets, securityGroups: ECS.securityGroups, assignPublicIp: 'DISABLED' },
      },
      overrides: {
        containerOverrides: [
          {
            name: 'agent',
            command: ['claude', '-p', 'hi'],
            environment: [
              { name: 'KEYFLEET_TICKET', value: expect.stringMatching(/^kfk_[A-Za-z0-9_-]{43}$/) },
              { name: 'KEYFLEET_URL', value: api.base },
              { name: 'REPO', value: 'org/app' },
            ],
          },
        ],
      },
    });
    expect(ecs.raw.at(-1)).not.toContain(CLAUDE_KEY);
    expect(JSON.stringify(res.body)).not.toContain(ticketOf(request));
  });

  it.each([
    [{ GITHUB_TOKEN: 'x' }, 'looks like a secret'],
    [{ DB_PASSWORD: 'x' }, 'looks like a secret'],
    [{ ANTHROPIC_API_KEY: 'x' }, 'reserved'],
    [{ KEYFLEET_TICKET: 'x' }, 'reserved'],
    [{ NOTES: 'Bearer abcdefghijklmnop' }, 'looks like a credential'],
  ])('refuses caller variables %j and starts nothing', async (environment, message) => {
    const before = ecs.runTasks.length;
    const res = await launch({ provider: 'claude', ecs: { ...ECS, environment } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain(message);
    expect(ecs.runTasks.length).toBe(before);
  });

  it('enforces the cluster and task-definition allow-lists', async () => {
    expect((await launch({ provider: 'claude', ecs: { ...ECS, cluster: 'other' } })).status).toBe(403);
    expect(
      (
        await launch({
          provider: 'claude',
          ecs: { ...ECS, taskDefinition: 'arn:aws:ecs:eu-west-1:1:task-definition/evil:1' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await launch({
          provider: 'claude',
          ecs: { ...ECS, cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/agents' },
        })
      ).status,
    ).toBe(201);
  });

  it('requires the ECS fields outside local mode, and validates the rest', async () => {
    const res = await api.call<Err>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'claude', ecs: { cluster: 'agents' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.map((d) => d.path)).toEqual([
      'body.ecs.taskDefinition',
      'body.ecs.container',
      'body.ecs.subnets',
    ]);
    expect((await launch({ provider: 'claude', maxDurationMinutes: 0 })).status).toBe(400);
    expect((await launch({ provider: 'mistral' })).status).toBe(400);
  });

  it('answers upstream_error when ECS starts no task', async () => {
    ecs.failNext('RESOURCE:MEMORY');
    const res = await launch({ provider: 'claude' });
    expect(res.status).toBe(502);
    expect(res.body.error).toEqual({ code: 'upstream_error', message: 'ECS did not start the task: RESOURCE:MEMORY.' });
  });

  it('answers account_unusable for an unusable task choice, provider_not_configured when nothing is usable', async () => {
    await api.call('PATCH', `/v1/providers/codex/accounts/${codex.id}`, { body: { roundRobin: true } });
    expect((await launch({ provider: 'codex', preferredAccountId: 'acc_00000000000000000000' })).status).toBe(404);
    const none = await launch({ provider: 'grok' });
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('provider_not_configured');
  });

  it('applies model and effort in the order task → user → environment → provider', async () => {
    await api.call('PATCH', '/v1/settings', { body: { models: { claude: 'claude-provider-model' } } });
    await api.call('PUT', '/v1/environments/default', {
      body: { providers: { claude: { model: 'claude-env-model', effort: 'low' } } },
    });
    const profileFor = async (body: Record<string, unknown>, as: 'alice' | 'bob') => {
      const res = await launch({ provider: 'claude', ...body }, as);
      expect(res.status).toBe(201);
      return (await redeem(ticketOf(ecs.runTasks.at(-1)))).body.env;
    };
    expect(await profileFor({}, 'bob')).toMatchObject({
      ANTHROPIC_MODEL: 'claude-env-model',
      CLAUDE_CODE_EFFORT_LEVEL: 'low',
    });
    await api.call('PUT', '/v1/me/preferences', { as: 'alice', body: { providers: { claude: { effort: 'high' } } } });
    expect(await profileFor({}, 'alice')).toMatchObject({
      ANTHROPIC_MODEL: 'claude-env-model',
      CLAUDE_CODE_EFFORT_LEVEL: 'high',
    });
    expect(await profileFor({ model: 'claude-task-model', effort: 'max' }, 'alice')).toMatchObject({
      ANTHROPIC_MODEL: 'claude-task-model',
      CLAUDE_CODE_EFFORT_LEVEL: 'max',
    });
    expect((await launch({ provider: 'claude', effort: 'minimal' })).status).toBe(400);
  });
});

describe('tickets', () => {
  it('redeem once; a second redemption is ticket_used and audited', async () => {
    await launch({ provider: 'claude' });
    const ticket = ticketOf(ecs.runTasks.at(-1));
    const first = await redeem(ticket);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      provider: 'claude',
      taskToken: expect.stringMatching(/^kft_/),
      env: { ANTHROPIC_API_KEY: CLAUDE_KEY },
    });
    const second = await redeem(ticket);
    expect(second.status).toBe(410);
    expect(second.body.error.code).toBe('ticket_used');
    const audit = await api.call<{ events: { action: string }[] }>('GET', '/v1/audit?limit=3');
    expect(audit.body.events.map((e) => e.action)).toContain('ticket.reused');
    expect(capturedLogs()).toContain('"ticketReuse":1');
  });

  it('let exactly one of two concurrent redemptions succeed', async () => {
    await launch({ provider: 'claude' });
    const ticket = ticketOf(ecs.runTasks.at(-1));
    const results = await Promise.all([redeem(ticket), redeem(ticket), redeem(ticket)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 410, 410]);
  });

  it('expire after 15 minutes', async () => {
    await launch({ provider: 'claude' });
    const ticket = ticketOf(ecs.runTasks.at(-1));
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 15 * 60_000 + 1 });
    try {
      expect((await redeem(ticket)).status).toBe(410);
    } finally {
      vi.useRealTimers();
    }
  });

  it('answer account_unusable when the account’s credential is gone by redemption time', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Short-lived', apiKey: 'sk-ant-api03-short-lived-key-0004' },
    });
    await launch({ provider: 'claude', preferredAccountId: added.body.account.id });
    const ticket = ticketOf(ecs.runTasks.at(-1));
    await deleteSecret(`keyfleet/test/claude/${added.body.account.id}`);
    const res = await redeem(ticket);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('account_unusable');
  });

  it('are stored only as hashes', async () => {
    await launch({ provider: 'claude' });
    const ticket = ticketOf(ecs.runTasks.at(-1));
    const table = await api.tableDump();
    expect(table).not.toContain(ticket);
    expect(table).toContain(`TICKET#${hashOf(ticket)}`);
    expect((await redeem('kfk_unknown')).status).toBe(410);
  });
});

describe('Codex OAuth launches', () => {
  let redeemed: Redeemed;
  let launchId: string;

  beforeEach(async () => {
    const res = await launch({ provider: 'codex', maxDurationMinutes: 240 });
    expect(res.status).toBe(201);
    launchId = res.body.launch.id;
    expect(res.body.launch.warnings).toEqual([]);
    redeemed = (await redeem(ticketOf(ecs.runTasks.at(-1)))).body;
  });

  it('gets auth.json with the task token as refresh token, never the real one', async () => {
    const stored = (await readSecret(`keyfleet/test/codex/${codex.id}`)).value;
    const authJson = JSON.parse(redeemed.files.find((f) => f.path === '.codex/auth.json')?.content ?? '{}');
    expect(authJson.tokens).toEqual({
      id_token: stored.id_token,
      access_token: stored.access_token,
      refresh_token: redeemed.taskToken,
      account_id: null,
    });
    expect(redeemed.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE).toBe(`${api.base}/v1/oauth/codex/token`);
    expect(JSON.stringify(redeemed)).not.toContain(String(stored.refresh_token));
    for (const f of redeemed.files) expect(f.mode).toBe(0o600);
  });

  it('answers the CLI’s refresh (JSON or form) with the pooled tokens and the same task token', async () => {
    const stored = (await readSecret(`keyfleet/test/codex/${codex.id}`)).value;
    const body = {
      client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
      grant_type: 'refresh_token',
      refresh_reason: 'proactive_expiry',
      refresh_token: redeemed.taskToken,
    };
    const asJson = await api.call<Record<string, unknown>>('POST', '/v1/oauth/codex/token', { body });
    expect(asJson.body).toEqual({
      access_token: stored.access_token,
      id_token: stored.id_token,
      refresh_token: redeemed.taskToken,
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    const form = await fetch(`${api.base}/v1/oauth/codex/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });
    expect(form.status).toBe(200);
    expect(((await form.json()) as { refresh_token: string }).refresh_token).toBe(redeemed.taskToken);
    const wrong = await api.call<Err>('POST', '/v1/oauth/codex/token', {
      body: { ...body, refresh_token: 'kft_wrong' },
    });
    expect(wrong.status).toBe(401);
  });

  it('serves the current access token to the task, for its own provider only', async () => {
    const res = await fetch(`${api.base}/v1/tasks/token?provider=codex`, {
      headers: { authorization: `Bearer ${redeemed.taskToken}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ access_token: expect.any(String), expires_in: expect.any(Number) });
    const other = await fetch(`${api.base}/v1/tasks/token?provider=grok`, {
      headers: { authorization: `Bearer ${redeemed.taskToken}` },
    });
    expect(other.status).toBe(403);
  });

  it('keeps its account when the active account changes', async () => {
    const other = await signIn(api, oauth, 'codex', 'second');
    await api.call('PATCH', `/v1/providers/codex/accounts/${codex.id}`, { body: { roundRobin: false } });
    await api.call('PUT', '/v1/providers/codex/active', { body: { accountId: other.id } });
    const res = await fetch(`${api.base}/v1/tasks/token?provider=codex`, {
      headers: { authorization: `Bearer ${redeemed.taskToken}` },
    });
    const stored = (await readSecret(`keyfleet/test/codex/${codex.id}`)).value;
    expect(((await res.json()) as { access_token: string }).access_token).toBe(stored.access_token);
  });

  it('revokes the task token when ECS reports the task STOPPED', async () => {
    const result = await taskStopped({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: { lastStatus: 'STOPPED', startedBy: launchId, taskArn: 'arn:aws:ecs:eu-west-1:1:task/agents/x' },
    } as never);
    expect(result).toEqual({ revoked: true });
    const res = await api.call<Err>('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: redeemed.taskToken },
    });
    expect(res.status).toBe(401);
  });
});

describe('token lifetimes', () => {
  it('gives a long Gemini task the (non-rotating) refresh token and says so; a short one only an access token', async () => {
    const gemini = await signIn(api, oauth, 'gemini', 'gem');
    await api.call('PUT', '/v1/providers/gemini/active', { body: { accountId: gemini.id } });
    const short = await launch({ provider: 'gemini', maxDurationMinutes: 30 });
    expect(short.body.launch.warnings).toEqual([]);
    const shortProfile = (await redeem(ticketOf(ecs.runTasks.at(-1)))).body;
    expect(shortProfile.env).toMatchObject({
      GOOGLE_GENAI_USE_GCA: 'true',
      GOOGLE_CLOUD_ACCESS_TOKEN: expect.any(String),
    });
    expect(shortProfile.files.map((f) => f.path)).toEqual(['.gemini/settings.json']);

    const long = await launch({ provider: 'gemini', maxDurationMinutes: 180 });
    expect(long.body.launch.warnings).toEqual([
      expect.stringContaining('receives the account\u2019s refresh token'.replace('\u2019', "'")),
    ]);
    const longProfile = (await redeem(ticketOf(ecs.runTasks.at(-1)))).body;
    const creds = JSON.parse(longProfile.files.find((f) => f.path === '.gemini/oauth_creds.json')?.content ?? '{}');
    expect(creds.refresh_token).toBe((await readSecret(`keyfleet/test/gemini/${gemini.id}`)).value.refresh_token);
    expect(longProfile.env.GOOGLE_CLOUD_ACCESS_TOKEN).toBeUndefined();
    const audit = await api.call<{ events: { action: string; detail?: { refreshTokenDelivered?: boolean } }[] }>(
      'GET',
      '/v1/audit?limit=10',
    );
    expect(audit.body.events.find((e) => e.action === 'launch.started')?.detail?.refreshTokenDelivered).toBe(true);
  });

  it('warns when a Claude access token cannot cover the task', async () => {
    const claude = await signIn(api, oauth, 'claude', 'longtask');
    const res = await launch({ provider: 'claude', preferredAccountId: claude.id, maxDurationMinutes: 600 });
    expect(res.status).toBe(201);
    expect(res.body.launch.warnings).toEqual([
      expect.stringContaining('before this task\u2019s 600 minutes end'.replace('\u2019', "'")),
    ]);
    const profile = (await redeem(ticketOf(ecs.runTasks.at(-1)))).body;
    expect(Object.keys(profile.env)).toContain('CLAUDE_CODE_OAUTH_TOKEN');
    expect(profile.files.map((f) => f.path)).toEqual(['.claude.json']);
  });
});

describe('preferences and environments', () => {
  it('stores a member’s preferences and refuses another member’s account', async () => {
    const own = await api.call<{ account: { id: string } }>('POST', '/v1/me/providers/claude/accounts', {
      as: 'bob',
      body: { kind: 'api_key', label: 'Bob key', apiKey: 'sk-ant-api03-bob-own-key-0002' },
    });
    const ok = await api.call('PUT', '/v1/me/preferences', {
      as: 'bob',
      body: { providers: { claude: { preferredAccountId: own.body.account.id } } },
    });
    expect(ok.status).toBe(200);
    expect((await api.call('GET', '/v1/me/preferences', { as: 'bob' })).body).toEqual({
      providers: { claude: { preferredAccountId: own.body.account.id } },
    });
    const theirs = await api.call('PUT', '/v1/me/preferences', {
      as: 'alice',
      body: { providers: { claude: { preferredAccountId: own.body.account.id } } },
    });
    expect(theirs.status).toBe(404);
    expect(
      (
        await api.call('PUT', '/v1/me/preferences', {
          as: 'alice',
          body: { providers: { claude: { effort: 'turbo' } } },
        })
      ).status,
    ).toBe(400);
    const bobLaunch = await launch({ provider: 'claude' }, 'bob');
    expect(bobLaunch.body.launch.accountId).toBe(own.body.account.id);
  });

  it('lets admins define environments and members read them', async () => {
    const put = await api.call('PUT', '/v1/environments/ci', {
      body: { agent: 'codex', delivery: 'ticket', providers: { codex: { model: 'gpt-5-codex', effort: 'minimal' } } },
    });
    expect(put.status).toBe(200);
    expect((await api.call('GET', '/v1/environments/ci', { as: 'alice' })).body).toEqual({
      name: 'ci',
      agent: 'codex',
      delivery: 'ticket',
      providers: { codex: { model: 'gpt-5-codex', effort: 'minimal' } },
    });
    expect((await api.call('PUT', '/v1/environments/ci', { as: 'alice', body: { providers: {} } })).status).toBe(403);
    expect((await api.call('GET', '/v1/environments/nope', { as: 'alice' })).status).toBe(404);
    expect((await launch({ provider: 'claude', environment: 'nope' })).status).toBe(404);
  });
});

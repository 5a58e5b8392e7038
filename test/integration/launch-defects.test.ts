import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as taskStopped } from '#functions/task-stopped.ts';
import type { Redeemed } from '#shared/cli/exec.ts';
import type { LaunchView } from '#shared/launch/launch.ts';
import { getLaunch, updateLaunch } from '#shared/launch/records.ts';
import { issueTaskToken } from '#shared/launch/task-tokens.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * Regressions for the launch and container-route defects found against outside peers (issue 10,
 * items 4, 5 and 9): expired tokens handed to Codex, tickets that outlive their task, the task
 * token route on API-key accounts, and environments that could not be listed or deleted.
 */

let oauth: OAuthServer;
let ecs: FakeEcs;
let api: TestApi;

const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
};
const MINUTE = 60_000;
const CODEX_CLIENT = 'app_EMoamEEZ73f0CkXaXp7hrann';

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
afterEach(() => {
  vi.useRealTimers();
});

type Err = { error: { code: string; message: string; details?: { path: string; message: string }[] } };
type OAuthAnswer = Record<string, unknown>;

/** Moves the clock (Date only: timers and I/O stay real) by `ms` from now. */
function advance(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ms });
}

const launch = (body: Record<string, unknown>, as: 'admin' | 'alice' | 'bob' = 'alice') =>
  api.call<{ launch: LaunchView } & Err>('POST', '/v1/launches', { as, body: { ecs: ECS, ...body } });

function lastTicket(): string {
  const input = ecs.runTasks.at(-1) as {
    overrides: { containerOverrides: { environment: { name: string; value: string }[] }[] };
  };
  return input.overrides.containerOverrides[0]?.environment.find((e) => e.name === 'KEYFLEET_TICKET')?.value ?? '';
}

const redeem = (ticket: string) => api.call<Redeemed & Err>('POST', '/v1/tickets/redeem', { body: { ticket } });

const codexRefresh = (taskToken: string, reason: string) =>
  api.call<OAuthAnswer>('POST', '/v1/oauth/codex/token', {
    body: { client_id: CODEX_CLIENT, grant_type: 'refresh_token', refresh_reason: reason, refresh_token: taskToken },
  });

const tokenRequests = () => oauth.requests.filter((r) => r.path === '/token' && r.body.grant_type === 'refresh_token');

/** A Codex account (its own, so tests do not share tokens) and a redeemed launch on it. */
async function codexTask(login: string): Promise<{ accountId: string; launchId: string; taskToken: string }> {
  const account = await signIn(api, oauth, 'codex', login);
  const started = await launch({ provider: 'codex', preferredAccountId: account.id, maxDurationMinutes: 240 });
  expect(started.status).toBe(201);
  const redeemed = await redeem(lastTicket());
  expect(redeemed.status).toBe(200);
  return { accountId: account.id, launchId: started.body.launch.id, taskToken: redeemed.body.taskToken };
}

describe('Codex refresh route (issue 10, item 4)', () => {
  it('regression: the Codex refresh route answers 503 temporarily_unavailable, not an expired token, when the token endpoint fails', async () => {
    const task = await codexTask('expired-one');
    const before = (await readSecret(`keyfleet/test/codex/${task.accountId}`)).value;
    advance(70 * MINUTE); // the test server's access tokens last an hour
    const upstreamBefore = tokenRequests().length;
    oauth.injectTokenFailures({ status: 500 }, { status: 500 }, { status: 500 });

    const res = await fetch(`${api.base}/v1/oauth/codex/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: CODEX_CLIENT,
        grant_type: 'refresh_token',
        refresh_reason: 'proactive_expiry',
        refresh_token: task.taskToken,
      }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = (await res.json()) as OAuthAnswer;
    expect(body).toEqual({
      error: 'temporarily_unavailable',
      error_description:
        "The Codex (OpenAI) account's token has expired and could not be refreshed (Refresh failed: the token endpoint answered HTTP 500 after 3 attempts); try again shortly.",
    });
    expect(JSON.stringify(body)).not.toContain(String(before.access_token));
    expect(tokenRequests().length - upstreamBefore).toBe(3);
  });

  it('regression: a Codex that keeps asking while the token endpoint is down starts no more than one refresh per 30 seconds', async () => {
    const task = await codexTask('expired-two');
    advance(70 * MINUTE);
    const upstreamBefore = tokenRequests().length;
    oauth.injectTokenFailures({ status: 503 }, { status: 503 }, { status: 503 });
    const answers = [];
    for (const reason of ['proactive_expiry', 'unauthorized_recovery', 'proactive_expiry', 'unauthorized_recovery']) {
      answers.push((await codexRefresh(task.taskToken, reason)).status);
    }
    expect(answers).toEqual([503, 503, 503, 503]);
    expect(tokenRequests().length - upstreamBefore).toBe(3); // one refresh (three attempts), then none

    advance(31_000); // the interval has passed and the endpoint is back
    const recovered = await codexRefresh(task.taskToken, 'proactive_expiry');
    expect(recovered.status).toBe(200);
    const stored = (await readSecret(`keyfleet/test/codex/${task.accountId}`)).value;
    expect(recovered.body).toEqual({
      access_token: stored.access_token,
      id_token: stored.id_token,
      refresh_token: task.taskToken,
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    expect(recovered.body.expires_in).toBeGreaterThan(3000);
  });

  it('regression: unauthorized_recovery refreshes the account instead of answering the refused token', async () => {
    const task = await codexTask('recovery');
    const refused = (await readSecret(`keyfleet/test/codex/${task.accountId}`)).value;
    advance(31_000); // sign-in counts as a refresh; the interval has passed
    const upstreamBefore = tokenRequests().length;

    const res = await codexRefresh(task.taskToken, 'unauthorized_recovery');
    expect(res.status).toBe(200);
    const renewed = (await readSecret(`keyfleet/test/codex/${task.accountId}`)).value;
    expect(renewed.access_token).not.toBe(refused.access_token);
    expect(res.body.access_token).toBe(renewed.access_token);
    expect(tokenRequests().length - upstreamBefore).toBe(1);
    expect(tokenRequests().at(-1)?.body.refresh_token).toBe(refused.refresh_token);

    // A second recovery right away answers the new token without asking the provider again.
    const again = await codexRefresh(task.taskToken, 'unauthorized_recovery');
    expect(again.body.access_token).toBe(renewed.access_token);
    expect(tokenRequests().length - upstreamBefore).toBe(1);
  });

  it('answers a failed forced refresh with 503 even while the refused token has not expired', async () => {
    const task = await codexTask('recovery-fails');
    advance(31_000);
    oauth.injectTokenFailures({ status: 502 }, { status: 502 }, { status: 502 });
    const res = await codexRefresh(task.taskToken, 'unauthorized_recovery');
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(res.body.error_description).toContain('was refused and could not be refreshed');
  });

  it('answers 400 invalid_grant when the account must be signed in again', async () => {
    const task = await codexTask('revoked');
    advance(70 * MINUTE);
    oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_grant' } });
    const res = await codexRefresh(task.taskToken, 'proactive_expiry');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_grant',
      error_description: 'The Codex (OpenAI) account "revoked@example.test" needs to be signed in again.',
    });
  });

  it('answers GET /v1/tasks/token with 502 upstream_error, not an expired token, when the refresh fails', async () => {
    const task = await codexTask('expired-three');
    advance(70 * MINUTE);
    oauth.injectTokenFailures({ status: 500 }, { status: 500 }, { status: 500 });
    const res = await fetch(`${api.base}/v1/tasks/token?provider=codex`, {
      headers: { authorization: `Bearer ${task.taskToken}` },
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as Err).error.code).toBe('upstream_error');
  });

  it('regression: a launch whose OAuth token has expired and cannot be refreshed is refused with account_unusable', async () => {
    const account = await signIn(api, oauth, 'codex', 'stale-launch');
    advance(70 * MINUTE);
    oauth.injectTokenFailures({ status: 500 }, { status: 500 }, { status: 500 });
    const before = ecs.runTasks.length;
    const res = await launch({ provider: 'codex', preferredAccountId: account.id });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({
      code: 'account_unusable',
      message:
        'The Codex (OpenAI) account "stale-launch@example.test" has an expired access token that could not be refreshed (Refresh failed: the token endpoint answered HTTP 500 after 3 attempts). Try again later, or choose another account.',
    });
    expect(ecs.runTasks.length).toBe(before);
  });
});

describe('stopped tasks (issue 10, item 5)', () => {
  const stopped = (launchId: string) =>
    taskStopped({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      detail: {
        lastStatus: 'STOPPED',
        startedBy: launchId,
        taskArn: `arn:aws:ecs:eu-west-1:1:task/agents/${launchId}`,
      },
    } as never);

  // Each test launches Claude tasks on the team's key.
  beforeEach(async () => {
    const added = await api.call('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Claude key', apiKey: 'sk-ant-api03-stopped-task-key-0005' },
    });
    expect(added.status).toBe(201);
  });

  it('regression: a stopped task’s ticket can no longer be redeemed', async () => {
    const started = await launch({ provider: 'claude' });
    const ticket = lastTicket();
    expect(await stopped(started.body.launch.id)).toEqual({ revoked: false });

    const res = await redeem(ticket);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe('ticket_used');
    const record = await getLaunch(started.body.launch.id);
    expect(record?.status).toBe('stopped');
    expect(record?.taskTokenHash).toBeNull();
    const audit = await api.call<{ events: { action: string; detail?: Record<string, unknown> }[] }>(
      'GET',
      '/v1/audit?limit=5',
    );
    expect(audit.body.events.find((e) => e.action === 'launch.stopped')?.detail).toEqual({
      launchId: started.body.launch.id,
      taskArn: `arn:aws:ecs:eu-west-1:1:task/agents/${started.body.launch.id}`,
      tokenRevoked: false,
      ticketSpent: true,
    });
    // Spent by the stop, not presented twice: no reuse alarm.
    expect(capturedLogs()).not.toContain('ticket_reuse');
  });

  it('regression: issuing a task token for a stopped launch is refused and leaves the launch stopped', async () => {
    const started = await launch({ provider: 'claude' });
    await stopped(started.body.launch.id);
    const record = await getLaunch(started.body.launch.id);
    if (!record) throw new Error('launch record missing');
    await expect(issueTaskToken({ ...record, status: 'starting' })).rejects.toMatchObject({ code: 'ticket_used' });
    const after = await getLaunch(started.body.launch.id);
    expect(after?.status).toBe('stopped');
    expect(after?.taskTokenHash).toBeNull();
  });

  it('refuses a task token whose launch has stopped, even if revoking the token did not happen', async () => {
    const started = await launch({ provider: 'claude' });
    const { taskToken } = (await redeem(lastTicket())).body;
    await updateLaunch(started.body.launch.id, { status: 'stopped' });
    const res = await fetch(`${api.base}/v1/tasks/token?provider=claude`, {
      headers: { authorization: `Bearer ${taskToken}` },
    });
    expect(res.status).toBe(401);
  });

  it('records when the task stopped and revokes its token', async () => {
    const started = await launch({ provider: 'claude' });
    const { taskToken } = (await redeem(lastTicket())).body;
    expect((await getLaunch(started.body.launch.id))?.status).toBe('running');
    expect(await stopped(started.body.launch.id)).toEqual({ revoked: true });
    const shown = await api.call<{ launch: { status: string; stoppedAt?: string } }>(
      'GET',
      `/v1/launches/${started.body.launch.id}`,
      { as: 'alice' },
    );
    expect(shown.body.launch).toMatchObject({ status: 'stopped', stoppedAt: expect.any(String) });
    const res = await fetch(`${api.base}/v1/tasks/token`, { headers: { authorization: `Bearer ${taskToken}` } });
    expect(res.status).toBe(401);
  });
});

describe('contract gaps (issue 10, item 9)', () => {
  it('regression: GET /v1/tasks/token for an API-key account is 409 conflict, not an empty token', async () => {
    await api.call('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Key only', apiKey: 'sk-ant-api03-no-token-to-fetch-0006' },
    });
    await launch({ provider: 'claude' });
    const { taskToken } = (await redeem(lastTicket())).body;
    const res = await fetch(`${api.base}/v1/tasks/token?provider=claude`, {
      headers: { authorization: `Bearer ${taskToken}` },
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'conflict', message: "This launch's account uses an API key; there is no token to fetch." },
    });
  });

  it('regression: GET /v1/environments/default answers before default was saved', async () => {
    const res = await api.call('GET', '/v1/environments/default', { as: 'alice' });
    expect(res).toEqual({ status: 200, body: { name: 'default', providers: {} } });
  });

  it('regression: environments can be listed (default included) and deleted', async () => {
    const initial = await api.call('GET', '/v1/environments', { as: 'alice' });
    expect(initial).toEqual({ status: 200, body: { environments: [{ name: 'default', providers: {} }] } });
    await api.call('PUT', '/v1/environments/staging', { body: { providers: { claude: { effort: 'low' } } } });
    await api.call('PUT', '/v1/environments/ci', { body: { agent: 'codex', providers: {} } });
    await api.call('PUT', '/v1/environments/default', { body: { providers: { claude: { model: 'claude-x' } } } });
    expect((await api.call('GET', '/v1/environments', { as: 'bob' })).body).toEqual({
      environments: [
        { name: 'ci', agent: 'codex', providers: {} },
        { name: 'default', providers: { claude: { model: 'claude-x' } } },
        { name: 'staging', providers: { claude: { effort: 'low' } } },
      ],
    });

    expect((await api.call('DELETE', '/v1/environments/staging', { as: 'alice' })).status).toBe(403);
    expect((await api.call('DELETE', '/v1/environments/staging')).status).toBe(204);
    expect((await api.call('GET', '/v1/environments/staging')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/environments/staging')).status).toBe(404);
    // Deleting default resets it.
    expect((await api.call('DELETE', '/v1/environments/default')).status).toBe(204);
    expect((await api.call('GET', '/v1/environments/default')).body).toEqual({ name: 'default', providers: {} });
    expect((await api.call('GET', '/v1/environments')).body).toEqual({
      environments: [
        { name: 'ci', agent: 'codex', providers: {} },
        { name: 'default', providers: {} },
      ],
    });
    const audit = await api.call<{ events: { action: string; detail?: { name?: string } }[] }>(
      'GET',
      '/v1/audit?limit=5',
    );
    expect(audit.body.events.filter((e) => e.action === 'environment.deleted').map((e) => e.detail?.name)).toEqual([
      'default',
      'staging',
    ]);
  });

  it.each([
    ['GET', '/v1/environments/Bad%20Name'],
    ['PUT', '/v1/environments/-leading-dash'],
    ['DELETE', '/v1/environments/UPPER'],
  ])('regression: a bad environment name is 400 validation_failed (%s %s)', async (method, path) => {
    const res = await api.call<Err>(method, path, { body: method === 'PUT' ? { providers: {} } : undefined });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual([
      { path: 'path.name', message: 'must be 1-64 lowercase letters, digits, _ or -' },
    ]);
  });
});

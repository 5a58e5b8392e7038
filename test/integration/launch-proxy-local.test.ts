import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCliBundle } from '#infra/local/runner.ts';
import { getAccount } from '#shared/accounts/store.ts';
import { localDelivery } from '#shared/launch/local-delivery.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { type RecordingUpstream, startRecordingUpstream } from '#test/helpers/proxy-upstream.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * A `delivery: "proxy"` launch end to end, as local mode runs it: the real API issues the ticket,
 * `localDelivery` starts the real `keyfleet proxy` (the bundled command) as its own process, which
 * redeems it; the agent runs under the real `keyfleet exec` with only the proxy's address; its
 * requests reach a loopback Anthropic API with the pooled account's real token; the proxy's last
 * usage report, with the 429 it saw, puts the account in `cooling_down` and the next launch picks
 * the other pool account. The local runner itself is not in the loop yet (see the report for
 * issue 15): this test drives the agent the way the runner will.
 */

let oauth: OAuthServer;
let ecs: FakeEcs;
let api: TestApi;
let upstream: RecordingUpstream;
let probe: string;
let cli: string;

const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent-proxy:1',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
};
const RESET_S = Math.floor(Date.now() / 1000) + 3 * 3600;

beforeAll(async () => {
  upstream = await startRecordingUpstream((request, res) => {
    if (request.body.includes('"limit me"')) {
      res.writeHead(429, {
        'content-type': 'application/json',
        'anthropic-ratelimit-unified-status': 'rejected',
        'anthropic-ratelimit-unified-5h-status': 'rejected',
        'anthropic-ratelimit-unified-5h-reset': String(RESET_S),
      });
      res.end('{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"type":"message","usage":{"input_tokens":11,"output_tokens":7}}');
  });
  oauth = await startOAuthServer();
  ecs = await startFakeEcs();
  const overrides = oauth.overrides() as Record<string, Record<string, unknown>>;
  overrides.claude = { ...overrides.claude, cliBaseUrl: upstream.base };
  api = await startTestApi({
    KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(overrides),
    AWS_ENDPOINT_URL_ECS: ecs.endpoint,
  });
  cli = await localCliBundle();
  // The agent: shows what it can see, and makes two model calls through whatever its profile says.
  probe = join(await mkdtemp(join(tmpdir(), 'kf-proxy-probe-')), 'probe.mjs');
  await writeFile(
    probe,
    `const base = process.env.ANTHROPIC_BASE_URL;
const headers = { authorization: 'Bearer ' + process.env.CLAUDE_CODE_OAUTH_TOKEN, 'content-type': 'application/json' };
const statuses = [];
for (const prompt of ['hello', 'limit me']) {
  const res = await fetch(base + '/v1/messages', { method: 'POST', headers, body: JSON.stringify({ prompt }) });
  statuses.push(res.status);
  await res.text();
}
console.log('PROBE ' + JSON.stringify({ env: process.env, argv: process.argv, statuses }));
`,
  );
}, 60_000);
afterAll(async () => {
  await api.stop();
  await ecs.close();
  await oauth.close();
  await upstream.close();
});

/** Runs `command` under the bundled `keyfleet exec` with exactly `env`; resolves its exit code and output. */
function runAgent(env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, 'exec', '--', process.execPath, probe], { env, cwd });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('close', (code) => done({ code, output }));
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('a proxy-delivery launch in local mode', () => {
  it('runs the agent with placeholders only, reports usage, and cools a rate-limited account down', async () => {
    const one = await signIn(api, oauth, 'claude', 'local-proxy-one');
    const two = await signIn(api, oauth, 'claude', 'local-proxy-two');
    for (const account of [one, two]) {
      await api.call('PATCH', `/v1/providers/claude/accounts/${account.id}`, { body: { roundRobin: true } });
    }
    const started = await api.call<{ launch: { id: string; accountId: string } }>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'claude', delivery: 'proxy', ecs: ECS },
    });
    expect(started.status).toBe(201);
    const { id, accountId } = started.body.launch;
    const sidecar = (
      ecs.runTasks.at(-1) as { overrides: { containerOverrides: { environment: { name: string; value: string }[] }[] } }
    ).overrides.containerOverrides[1];
    const ticket = sidecar?.environment.find((e) => e.name === 'KEYFLEET_TICKET')?.value ?? '';
    const real = String((await readSecret(`keyfleet/test/claude/${accountId}`)).value.access_token);

    const delivery = await localDelivery({ launchId: id, delivery: 'proxy', ticket, apiUrl: api.base }, [
      process.execPath,
      cli,
    ]);
    expect(Object.keys(delivery.env)).toEqual(['KEYFLEET_PROXY_URL']);
    const home = await mkdtemp(join(tmpdir(), 'kf-proxy-home-'));
    await mkdir(join(home, 'tmp'));
    const agent = await runAgent(
      { PATH: process.env.PATH, HOME: home, TMPDIR: join(home, 'tmp'), ...delivery.env },
      home,
    );
    await delivery.stop();
    await delivery.stop();

    expect(agent.code).toBe(0);
    const line = agent.output.split('\n').find((l) => l.startsWith('PROBE ')) ?? 'PROBE {}';
    const seen = JSON.parse(line.slice(6)) as { env: Record<string, string>; statuses: number[] };
    expect(seen.statuses).toEqual([200, 429]);
    expect(Object.keys(seen.env).filter((k) => k.startsWith('KEYFLEET_'))).toEqual(['KEYFLEET_PROXY_URL']);
    expect(seen.env.CLAUDE_CODE_OAUTH_TOKEN).toMatch(/^sk-ant-oat01-keyfleet-proxy-/);
    expect(seen.env.ANTHROPIC_BASE_URL).toBe(delivery.env.KEYFLEET_PROXY_URL);

    // The agent's side holds no real credential, ticket or task token: environment, arguments, output, HOME.
    const agentSide = [agent.output, ...(await Promise.all((await filesUnder(home)).map((f) => readFile(f, 'utf8'))))];
    for (const text of agentSide) {
      expect(text).not.toContain(real);
      expect(text).not.toContain(ticket);
      expect(text).not.toMatch(/kft_[A-Za-z0-9_-]{43}/);
    }
    // The provider saw the real token, never the placeholder.
    expect(upstream.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${real}`, `Bearer ${real}`]);

    const shown = await api.call<{ launch: Record<string, unknown> }>('GET', `/v1/launches/${id}`, { as: 'alice' });
    expect(shown.body.launch).toMatchObject({
      delivery: 'proxy',
      status: 'running',
      usage: { requests: 2, inputTokens: 11, outputTokens: 7, statusCounts: { '200': 1, '429': 1 } },
    });
    expect(await getAccount('claude', accountId)).toMatchObject({
      status: 'cooling_down',
      cooldownUntil: new Date(RESET_S * 1000).toISOString(),
    });
    const other = accountId === one.id ? two.id : one.id;
    const next = await api.call<{ launch: { accountId: string } }>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'claude', delivery: 'proxy', ecs: ECS },
    });
    expect(next.body.launch.accountId).toBe(other);
    await rm(home, { recursive: true, force: true });
  }, 60_000);
});

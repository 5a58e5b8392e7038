import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthorizedError } from '#shared/errors.ts';
import { getLaunch } from '#shared/launch/records.ts';
import { authenticateTaskToken } from '#shared/launch/task-tokens.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { type SpawnedLocalMode, spawnLocalMode } from '#test/helpers/spawn-local.ts';

// The agent: reports who it is, then sleeps; with "ignore-term" it shrugs SIGTERM off.
const AGENT = `
import { writeFileSync } from 'node:fs';
const [probe, mode] = process.argv.slice(2);
if (mode === 'ignore-term') process.on('SIGTERM', () => undefined);
writeFileSync(probe, JSON.stringify({ pid: process.pid, home: process.env.HOME, token: process.env.KEYFLEET_TASK_TOKEN }));
setInterval(() => undefined, 1000);
`;

interface Probe {
  pid: number;
  home: string;
  token: string;
}

let aws: LocalAws;
let dir: string;
let agent: string;
beforeAll(async () => {
  aws = await startLocalAws();
  dir = await realpath(await mkdtemp(join(tmpdir(), 'kf-shutdown-')));
  agent = join(dir, 'agent.mjs');
  await writeFile(agent, AGENT);
});
// Stopped whatever happened to the test, before the endpoints they use go away.
const started: SpawnedLocalMode[] = [];
afterAll(async () => {
  for (const local of started) await local.stop('SIGTERM');
  await aws.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  return !/^\d+ \(.*\) Z /.test(readFileSync(stat, 'utf8'));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Local mode as its own process against this file's endpoints, running one sleeping task. */
async function localModeWithTask(
  name: string,
  mode: 'plain' | 'ignore-term',
): Promise<{ local: SpawnedLocalMode; launchId: string; task: Probe; dataDir: string }> {
  const dataDir = join(dir, name);
  const local = await spawnLocalMode({
    KEYFLEET_DATA_DIR: dataDir,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.secrets.endpoint,
    KEYFLEET_TABLE_NAME: aws.tableName,
    KEYFLEET_STAGE: 'test',
    KEYFLEET_SWEEP_SECONDS: '0',
    KEYFLEET_STOP_GRACE_SECONDS: '1',
  });
  started.push(local);
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${local.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${local.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, { id: string }> };
  };
  const account = await call('/v1/providers/claude/accounts', {
    kind: 'api_key',
    label: `Shutdown ${name}`,
    apiKey: 'sk-ant-api03-shutdown-test-key-0001',
    endpoint: { type: 'custom', baseUrl: 'http://127.0.0.1:9/anthropic' },
  });
  expect(account.status, JSON.stringify(account.body)).toBe(201);
  const probeFile = join(dir, `${name}.json`);
  const launch = await call('/v1/launches', {
    provider: 'claude',
    ecs: { command: [process.execPath, agent, probeFile, mode] },
  });
  expect(launch.status, JSON.stringify(launch.body)).toBe(201);
  const task = await until('the task to start', async () =>
    existsSync(probeFile) ? (JSON.parse(await readFile(probeFile, 'utf8')) as Probe) : undefined,
  );
  return { local, launchId: launch.body.launch?.id ?? '', task, dataDir };
}

async function expectCleanedUp(local: SpawnedLocalMode, launchId: string, task: Probe, dataDir: string): Promise<void> {
  expect(alive(task.pid), local.output()).toBe(false);
  expect(existsSync(task.home), local.output()).toBe(false);
  expect((await getLaunch(launchId))?.status, local.output()).toBe('stopped');
  await expect(authenticateTaskToken(task.token)).rejects.toThrow(UnauthorizedError);
  expect(existsSync(join(dataDir, 'keyfleet.lock'))).toBe(false);
}

describe('stopping local mode', { timeout: 60_000 }, () => {
  it('regression: SIGTERM stops running tasks, revokes their launches and removes their HOMEs instead of orphaning them', async () => {
    const { local, launchId, task, dataDir } = await localModeWithTask('plain', 'plain');
    expect(alive(task.pid)).toBe(true);
    await expect(authenticateTaskToken(task.token)).resolves.toMatchObject({ launchId });

    expect(await local.stop('SIGTERM'), local.output()).toEqual({ code: 0, signal: null });
    expect(local.output()).toContain('keyfleet: stopping 1 running task(s)');
    await expectCleanedUp(local, launchId, task, dataDir);
  });

  it('kills a task that ignores SIGTERM once the grace period is over, then cleans up', async () => {
    const { local, launchId, task, dataDir } = await localModeWithTask('stubborn', 'ignore-term');
    const started = Date.now();
    expect(await local.stop('SIGINT'), local.output()).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await expectCleanedUp(local, launchId, task, dataDir);
  });

  it('stops its tasks even when nobody reads its output any more', async () => {
    const { local, launchId, task, dataDir } = await localModeWithTask('unread', 'plain');
    // As when the terminal or the pipe reading npm start has gone: writes now fail with EPIPE.
    local.child.stdout?.destroy();
    local.child.stderr?.destroy();
    expect(await local.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await expectCleanedUp(local, launchId, task, dataDir);
  });
});

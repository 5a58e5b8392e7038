import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';

// The agent: reports its PID, its parent (keyfleet exec) and the first PATH entry (exec's shim
// folder), then waits; on SIGTERM or SIGINT it says which and exits 0.
const AGENT = `
import { writeFileSync } from 'node:fs';
const [probe] = process.argv.slice(2);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { console.log('agent stopped by ' + signal); process.exit(0); });
writeFileSync(probe, JSON.stringify({ pid: process.pid, ppid: process.ppid, shims: process.env.PATH.split(':')[0] }));
if (process.argv[3] !== 'quick') setInterval(() => undefined, 1000);
`;

let api: TestApi;
let dir: string;
// The test API keeps task HOMEs for inspection; these go when the file is done.
const homes: string[] = [];
let agent: string;
beforeAll(async () => {
  api = await startTestApi({}, { runner: 'local' });
  dir = await realpath(await mkdtemp(join(tmpdir(), 'kf-exec-')));
  agent = join(dir, 'agent.mjs');
  await writeFile(agent, AGENT);
});
afterAll(async () => {
  await api.stop();
  for (const path of [dir, ...homes]) await rm(path, { recursive: true, force: true });
});
// Each test launches with the team's Claude key (the table starts empty).
beforeEach(async () => {
  const account = await api.call('POST', '/v1/providers/claude/accounts', {
    body: {
      kind: 'api_key',
      label: 'Exec',
      apiKey: 'sk-ant-api03-exec-signal-key-0002',
      endpoint: { type: 'custom', baseUrl: 'http://127.0.0.1:9/anthropic' },
    },
  });
  expect(account.status).toBe(201);
});

async function launch(name: string, quick: boolean): Promise<{ launchId: string; probeFile: string }> {
  const probeFile = join(dir, `${name}.json`);
  const res = await api.call<{ launch: { id: string } }>('POST', '/v1/launches', {
    as: 'alice',
    body: { provider: 'claude', ecs: { command: [process.execPath, agent, probeFile, ...(quick ? ['quick'] : [])] } },
  });
  expect(res.status).toBe(201);
  return { launchId: res.body.launch.id, probeFile };
}

async function probeOf(file: string): Promise<{ pid: number; ppid: number; shims: string }> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error('the agent did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return JSON.parse(await readFile(file, 'utf8'));
}

describe('keyfleet exec', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'regression: %s to keyfleet exec reaches the agent instead of orphaning it',
    async (signal) => {
      const { launchId, probeFile } = await launch(signal, false);
      const seen = await probeOf(probeFile);
      // Only exec is signalled, as a container runtime signals PID 1.
      process.kill(seen.ppid, signal);
      const done = await api.runner?.wait(launchId);
      homes.push(done?.home ?? '');
      expect(done?.exitCode).toBe(0);
      expect(done?.output).toContain(`agent stopped by ${signal}`);
      expect(existsSync(seen.shims)).toBe(false);
    },
  );

  it('regression: keyfleet exec removes its keyfleet-bin folder instead of leaking one per task', async () => {
    const { launchId, probeFile } = await launch('quick', true);
    const done = await api.runner?.wait(launchId);
    homes.push(done?.home ?? '');
    expect(done?.exitCode).toBe(0);
    const seen = await probeOf(probeFile);
    expect(seen.shims).toMatch(/\/keyfleet-bin-[^/]+$/);
    expect(existsSync(seen.shims)).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxy } from '#shared/proxy/server.ts';
import { startFakeAgentUpstream } from '#test/helpers/fake-agent-upstream.ts';
import { type FakeKeyfleet, startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';

/** `keyfleet exec` as the agent container's entrypoint under delivery "proxy". */

let upstream: Awaited<ReturnType<typeof startFakeAgentUpstream>>;
let keyfleet: FakeKeyfleet;
let proxy: RunningProxy;
let home: string;
const credential = realCredential('claude', 'oauth', Date.now() + 3_600_000);

beforeAll(async () => {
  upstream = await startFakeAgentUpstream();
});
afterAll(async () => {
  await upstream.close();
});
// Each test: its own sidecar (which hands out one agent profile) and an empty HOME.
beforeEach(async () => {
  keyfleet = await startFakeKeyfleet(
    'kftk_exec_proxy_ticket',
    ticketProfile('claude', 'oauth', {
      upstream: upstream.base,
      credential,
      taskToken: 'kft_exec_proxy',
      accountId: 'a',
    }),
  );
  proxy = await startProxy({ apiUrl: keyfleet.url, ticket: 'kftk_exec_proxy_ticket', port: 0 });
  home = await mkdtemp(join(tmpdir(), 'kf-exec-proxy-'));
});
afterEach(async () => {
  await proxy.close();
  await keyfleet.close();
  await rm(home, { recursive: true, force: true });
});

function execAgent(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = 'process.stdout.write(JSON.stringify(process.env))';
  const child = spawn(process.execPath, ['bin/keyfleet.mjs', 'exec', '--', process.execPath, '-e', script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('keyfleet exec behind the proxy', () => {
  it('runs the agent with the placeholder profile from the sidecar and nothing that works elsewhere', async () => {
    const out = await execAgent({ PATH: process.env.PATH, HOME: home, KEYFLEET_PROXY_URL: proxy.url });
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    const agentEnv = JSON.parse(out.stdout) as Record<string, string>;
    expect(agentEnv.ANTHROPIC_BASE_URL).toBe(proxy.url);
    expect(agentEnv.CLAUDE_CODE_OAUTH_TOKEN).toMatch(/^sk-ant-oat01-keyfleet-proxy-[A-Za-z0-9_-]{43}$/);
    expect(agentEnv).not.toHaveProperty('KEYFLEET_TICKET');
    expect(agentEnv).not.toHaveProperty('KEYFLEET_TASK_TOKEN');
    expect(out.stdout).not.toContain(credential);
    expect(out.stdout).not.toContain('kft_exec_proxy');
  });

  it('refuses a second agent profile: the sidecar hands it out once', async () => {
    const first = await execAgent({ PATH: process.env.PATH, HOME: home, KEYFLEET_PROXY_URL: proxy.url });
    expect(first.code).toBe(0);
    const out = await execAgent({ PATH: process.env.PATH, HOME: home, KEYFLEET_PROXY_URL: proxy.url });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('the proxy has already handed out its agent profile');
    expect(await readFile(join(home, '.claude.json'), 'utf8').catch(() => '')).not.toContain(credential);
  });
});

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeProfileFiles } from '#shared/cli/exec.ts';
import { fetchAgentProfile } from '#shared/proxy/agent.ts';
import type { ProxyKind, ProxyProvider } from '#shared/proxy/routes.ts';
import { startProxy } from '#shared/proxy/server.ts';
import { startFakeAgentUpstream, type UpstreamRequest } from '#test/helpers/fake-agent-upstream.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';

/** Where `npm run test:cli` installs the real CLIs. */
const BIN = resolve('.cache/cli/node_modules/.bin');

const PROMPT: Record<ProxyProvider, string[]> = {
  claude: ['-p', 'say hi'],
  codex: ['exec', '--skip-git-repo-check', 'say hi'],
  gemini: ['-p', 'say hi'],
};

export interface AgentRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** What the fake provider API received. */
  upstream: UpstreamRequest[];
  credential: string;
  placeholder: string;
  /** Places on the agent's side where the real credential was found (should be none). */
  leaks: string[];
  usageReports: unknown[];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Runs the real CLI (as `npm run test:cli` installs it) through a credential proxy, the way a
 * `delivery: "proxy"` task does: the proxy redeems a ticket-mode profile holding a real-looking
 * credential, the agent gets only the placeholder profile. Afterwards the agent's environment,
 * arguments, HOME and output are scanned for the credential. Run it only inside a loopback-only
 * network namespace, as test:cli does.
 */
export async function runAgentThroughProxy(provider: ProxyProvider, kind: ProxyKind): Promise<AgentRun> {
  const upstream = await startFakeAgentUpstream();
  const credential = realCredential(provider, kind, Date.now() + 3600_000);
  const taskToken = `kft_${randomBytes(12).toString('hex')}`;
  const ticket = `kftk_${randomBytes(12).toString('hex')}`;
  const keyfleet = await startFakeKeyfleet(
    ticket,
    ticketProfile(provider, kind, { upstream: upstream.base, credential, taskToken, accountId: 'acct_1' }),
  );
  keyfleet.tokenAnswers.push({ access_token: credential, expires_in: 3600 });
  const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0 });
  // Not under /tmp: Codex refuses to create its helper binaries there.
  const home = await mkdtemp(join(resolve('.cache'), 'kf-proxy-agent-'));
  try {
    const profile = await fetchAgentProfile(proxy.url);
    await writeProfileFiles(home, profile.files);
    const env = { PATH: process.env.PATH ?? '', HOME: home, CODEX_HOME: join(home, '.codex'), ...profile.env };
    const args = PROMPT[provider];
    const run = await new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(join(BIN, provider), args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        done({ exitCode, stdout, stderr });
      });
    });
    const leaks: string[] = [];
    if (JSON.stringify(env).includes(credential)) leaks.push('environment');
    if (args.join(' ').includes(credential)) leaks.push('arguments');
    if (`${run.stdout}${run.stderr}`.includes(credential)) leaks.push('output');
    for (const path of await filesUnder(home)) {
      if ((await readFile(path)).includes(credential)) leaks.push(path.slice(home.length + 1));
    }
    await proxy.close();
    const placeholder =
      Object.values(profile.env).find((v) => v.includes('keyfleet-proxy')) ??
      (
        JSON.parse(profile.files.find((f) => f.path === '.codex/auth.json')?.content ?? '{"tokens":{}}') as {
          tokens: { access_token?: string };
        }
      ).tokens.access_token ??
      '';
    return {
      ...run,
      upstream: upstream.requests,
      credential,
      placeholder,
      leaks,
      usageReports: keyfleet.usageCalls.map((c) => c.body),
    };
  } finally {
    await proxy.close();
    await keyfleet.close();
    await upstream.close();
    await rm(home, { recursive: true, force: true });
  }
}

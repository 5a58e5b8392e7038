import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { confinedTarget, OutsideHomeError, writeConfined } from '#shared/profiles/confine.ts';
import { httpTransport } from '#shared/proxy/client.ts';

/** What POST /v1/tickets/redeem answers. */
export interface Redeemed {
  provider: string;
  taskToken: string;
  expiresAt: string;
  env: Record<string, string>;
  files: { path: string; mode: number; content: string }[];
}

// node:http(s), not fetch: fetch loads undici, which cost a task a sixth of its start-up CPU.
async function redeem(url: string, ticket: string): Promise<Redeemed> {
  const answer = await httpTransport({
    method: 'POST',
    url: `${url.replace(/\/$/, '')}/v1/tickets/redeem`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ticket }),
  });
  const body = parseObject(answer.text) as Partial<Redeemed> & { error?: { code?: string; message?: string } };
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(
      `keyfleet: ticket redemption failed (${answer.status} ${body.error?.code ?? ''}): ${body.error?.message ?? ''}`,
    );
  }
  if (typeof body.env !== 'object' || !Array.isArray(body.files) || typeof body.taskToken !== 'string') {
    throw new Error(`keyfleet: ticket redemption answered ${answer.status} without a profile`);
  }
  return body as Redeemed;
}

/** The JSON object `text` holds, else `{}`. */
function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Writes the profile's files under `home`, refusing any path that would leave it; files 0600, directories 0700. */
export async function writeProfileFiles(home: string, files: Redeemed['files']): Promise<void> {
  const realHome = await realpath(home);
  for (const entry of files) {
    try {
      await writeConfined(realHome, await confinedTarget(realHome, entry.path), entry.path, entry.content);
    } catch (error) {
      if (error instanceof OutsideHomeError) throw new Error(`keyfleet: ${error.message}`);
      throw error;
    }
  }
}

/** A `keyfleet` on PATH for CLIs that call back (Grok's auth provider command). */
async function shimDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyfleet-bin-'));
  const script = process.argv[1] ?? '';
  const shim = join(dir, 'keyfleet');
  await writeFile(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(script)} "$@"\n`, {
    mode: 0o700,
  });
  return dir;
}

/** The signals a container runtime or a terminal sends to stop the task. */
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** The shell's convention: 128 + the signal's number. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Traps the stop signals from now on: before the agent runs they are remembered, afterwards they
 * are passed on to it. As PID 1 in a container, an untrapped SIGTERM would be ignored and the
 * agent killed without warning when the grace period ends. On a terminal, SIGINT and SIGHUP
 * already reach the agent (the terminal signals the whole foreground group), and a second Ctrl-C
 * means "quit now" to Claude Code and Codex, so those two are not passed on again there.
 */
function trapSignals(): {
  received: () => NodeJS.Signals | undefined;
  forwardTo: (child: ChildProcess) => void;
  release: () => void;
} {
  let received: NodeJS.Signals | undefined;
  let target: ChildProcess | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal;
    if (signal !== 'SIGTERM' && process.stdin.isTTY) return;
    target?.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);
  return {
    received: () => received,
    forwardTo: (child) => {
      target = child;
    },
    release: () => {
      for (const signal of FORWARDED) process.off(signal, onSignal);
    },
  };
}

function runAgent(command: string[], env: NodeJS.ProcessEnv, signals: ReturnType<typeof trapSignals>): Promise<number> {
  const [program, ...args] = command;
  return new Promise((done, fail) => {
    const child = spawn(program ?? '', args, { env, stdio: 'inherit' });
    signals.forwardTo(child);
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? signalExitCode(signal) : 1)));
  });
}

/**
 * `keyfleet exec -- <agent command>`: the container entrypoint. Redeems KEYFLEET_TICKET once at
 * KEYFLEET_URL, writes the CLI profile's files into HOME, and runs the agent with the profile's
 * variables and the task token; the ticket itself is not passed on. SIGTERM, SIGINT and SIGHUP go
 * on to the agent; its exit code is ours, and the shim folder is removed whatever happens.
 */
export async function exec(command: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (command.length === 0) throw new Error('keyfleet exec: give the agent command after --');
  // Proxy delivery: the sidecar holds the ticket and the credentials; the agent gets placeholders.
  if (env.KEYFLEET_PROXY_URL && !env.KEYFLEET_TICKET) return execBehindProxy(command, env, env.KEYFLEET_PROXY_URL);
  const url = env.KEYFLEET_URL;
  const ticket = env.KEYFLEET_TICKET;
  if (!url || !ticket) throw new Error('keyfleet exec: KEYFLEET_URL and KEYFLEET_TICKET must be set');
  const home = env.HOME ?? process.cwd();
  const signals = trapSignals();
  let shims: string | undefined;
  try {
    const profile = await redeem(url, ticket);
    await writeProfileFiles(home, profile.files);
    shims = await shimDirectory();
    const stoppedEarly = signals.received();
    if (stoppedEarly) return signalExitCode(stoppedEarly);
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      ...profile.env,
      KEYFLEET_TASK_TOKEN: profile.taskToken,
      PATH: `${shims}:${env.PATH ?? ''}`,
    };
    delete childEnv.KEYFLEET_TICKET;
    return await runAgent(command, childEnv, signals);
  } finally {
    signals.release();
    if (shims) await rm(shims, { recursive: true, force: true });
  }
}

/**
 * `keyfleet exec` under `delivery: "proxy"`: fetches the agent profile (placeholders and the
 * proxy's address) from the sidecar once, writes its files and runs the agent. No ticket, task
 * token or shim reaches the agent: it holds nothing that works anywhere but its own proxy.
 */
async function execBehindProxy(command: string[], env: NodeJS.ProcessEnv, proxyUrl: string): Promise<number> {
  const signals = trapSignals();
  try {
    const { fetchAgentProfile } = await import('#shared/proxy/agent.ts');
    const profile = await fetchAgentProfile(proxyUrl);
    await writeProfileFiles(env.HOME ?? process.cwd(), profile.files);
    const stoppedEarly = signals.received();
    if (stoppedEarly) return signalExitCode(stoppedEarly);
    const childEnv: NodeJS.ProcessEnv = { ...env, ...profile.env };
    delete childEnv.KEYFLEET_TASK_TOKEN;
    return await runAgent(command, childEnv, signals);
  } finally {
    signals.release();
  }
}

/** `keyfleet token <provider>`: prints `{access_token, expires_in, issuer}` for the task's account. */
export async function token(provider: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const url = env.KEYFLEET_URL;
  const taskToken = env.KEYFLEET_TASK_TOKEN;
  if (!url || !taskToken)
    throw new Error('keyfleet token: KEYFLEET_URL and KEYFLEET_TASK_TOKEN must be set (run under keyfleet exec)');
  const answer = await httpTransport({
    method: 'GET',
    url: `${url.replace(/\/$/, '')}/v1/tasks/token?provider=${encodeURIComponent(provider)}`,
    headers: { authorization: `Bearer ${taskToken}` },
  });
  if (answer.status < 200 || answer.status > 299) throw new Error(`keyfleet token: ${answer.status}`);
  return answer.text;
}

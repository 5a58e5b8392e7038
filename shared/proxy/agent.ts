import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CliProfile } from '#shared/profiles/types.ts';
import { httpTransport, type Transport } from '#shared/proxy/client.ts';

/** The proxy's route that hands the agent its profile, once. */
export const AGENT_PROFILE_PATH = '/_keyfleet/profile';

/**
 * For `keyfleet exec` under `delivery: "proxy"` (KEYFLEET_PROXY_URL set, no ticket): fetches the
 * agent's profile (placeholders and the proxy's address) from the sidecar. The sidecar serves it
 * once; a second fetch, or any other failure, is an error naming the status only.
 */
export async function fetchAgentProfile(proxyUrl: string, transport: Transport = httpTransport): Promise<CliProfile> {
  const answer = await transport({
    method: 'GET',
    url: `${proxyUrl.replace(/\/$/, '')}${AGENT_PROFILE_PATH}`,
    headers: {},
  });
  if (answer.status === 410) throw new Error('keyfleet exec: the proxy has already handed out its agent profile');
  if (answer.status !== 200)
    throw new Error(`keyfleet exec: the proxy answered ${answer.status} for the agent profile`);
  const profile = JSON.parse(answer.text) as CliProfile;
  if (typeof profile.env !== 'object' || !Array.isArray(profile.files)) {
    throw new Error('keyfleet exec: the proxy answered an agent profile without env and files');
  }
  return profile;
}

/** A `keyfleet proxy` running as its own process (local mode's task runner). */
export interface ProxyProcess {
  url: string;
  provider: string;
  kind: string;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (the proxy sends its last usage report first). */
  stop(): Promise<number | null>;
}

/**
 * Starts `command` (e.g. `[node, keyfleet.mjs, 'proxy', '--port', '0']`) with `env` (which must
 * hold KEYFLEET_URL and KEYFLEET_TICKET) and resolves once it prints its ready line. Rejects with
 * its exit code if it stops first, or after `timeoutMs`. The child's stderr goes to ours.
 */
export function startProxyProcess(
  command: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<ProxyProcess> {
  const [program, ...args] = command;
  const child = spawn(program ?? '', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('keyfleet proxy: not ready in time'));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`keyfleet proxy: exited with ${code} before it was ready`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let ready: { ready?: unknown; url?: unknown; provider?: unknown; kind?: unknown } = {};
      try {
        ready = JSON.parse(line) as typeof ready;
      } catch {
        return;
      }
      if (ready.ready !== true || typeof ready.url !== 'string') return;
      clearTimeout(timer);
      resolve({ url: ready.url, provider: String(ready.provider), kind: String(ready.kind), child, stop });
    });
  });
}

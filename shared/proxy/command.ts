import { COLLECT_EVERY_BYTES, garbagePacer, minorCollector } from '#shared/proxy/memory.ts';
import { type RunningProxy, startProxy } from '#shared/proxy/server.ts';

/** The sidecar's port when none is given (the agent container reaches it on 127.0.0.1). */
export const DEFAULT_PROXY_PORT = 8790;

export const PROXY_USAGE = `usage:
  keyfleet proxy [--port <n>]          redeem KEYFLEET_TICKET at KEYFLEET_URL and serve the agent's API calls
  keyfleet proxy --health [--port <n>] exit 0 when the proxy on this port answers (container health check)`;

interface ParsedArgs {
  port: number;
  health: boolean;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs | string {
  let port = env.KEYFLEET_PROXY_PORT ?? String(DEFAULT_PROXY_PORT);
  let health = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--health') health = true;
    else if (arg === '--port') port = argv[++i] ?? '';
    else if (arg.startsWith('--port=')) port = arg.slice('--port='.length);
    else return `keyfleet proxy: unknown argument ${JSON.stringify(arg)}`;
  }
  const value = Number(port);
  if (!/^\d+$/.test(port) || value > 65535) return `keyfleet proxy: the port must be a number from 0 to 65535`;
  return { port: value, health };
}

async function health(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/_keyfleet/health`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok ? 0 : 1;
  } catch {
    return 1;
  }
}

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      resolve(signal);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}

/**
 * `keyfleet proxy`: starts the credential proxy from KEYFLEET_URL and KEYFLEET_TICKET, prints one
 * JSON ready line (`{"ready":true,"url":…,"provider":…,"kind":…}`) and serves until SIGTERM or
 * SIGINT, then sends the last usage report and resolves 0. Bad arguments resolve 2, a failed start
 * 1 with one line on stderr that names no credential.
 */
export async function runProxyCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseArgs(argv, env);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${PROXY_USAGE}\n`);
    return 2;
  }
  if (parsed.health) return health(parsed.port);
  const apiUrl = env.KEYFLEET_URL;
  const ticket = env.KEYFLEET_TICKET;
  if (!apiUrl || !ticket) {
    process.stderr.write('keyfleet proxy: KEYFLEET_URL and KEYFLEET_TICKET must be set\n');
    return 2;
  }
  const stopped = stopSignal();
  let proxy: RunningProxy;
  try {
    const onRelayed = garbagePacer(COLLECT_EVERY_BYTES, minorCollector());
    proxy = await startProxy({ apiUrl, ticket, port: parsed.port, onRelayed });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  const { provider, kind } = proxy.grant;
  process.stdout.write(`${JSON.stringify({ ready: true, url: proxy.url, provider, kind })}\n`);
  await stopped;
  await proxy.close();
  return 0;
}

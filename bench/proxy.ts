/**
 * The credential proxy's overhead against a direct connection to the same local upstream, in one
 * run: added time to first byte (median of many runs), streaming throughput of a 10 MB SSE answer,
 * and the proxy's resident memory. The proxy runs as its own process, bundled as it would ship,
 * so its memory is its own. `npx tsx bench/proxy.ts` prints the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { RedeemedProfile } from '#shared/proxy/grant.ts';
import { startProxy } from '#shared/proxy/server.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ProxyBenchResult {
  runs: number;
  ttfbDirectMs: number;
  ttfbProxyMs: number;
  /** Median through the proxy minus median direct; target ≤ 1 ms. */
  ttfbAddedMs: number;
  /**
   * The same with the proxy in the bench's own process: its code path alone, without the wake-up
   * of another process, which on a busy machine is most of the figure above.
   */
  ttfbAddedInProcessMs: number;
  bodyMb: number;
  throughputDirectMBps: number;
  throughputProxyMBps: number;
  /** Proxy throughput as a share of direct; target ≥ 0.95. */
  throughputRatio: number;
  /** CPU the proxy spent per MB streamed (load-independent, unlike the ratio on a busy machine). */
  proxyCpuMsPerMb: number;
  /** The proxy's resident memory once started and serving, before any load. */
  idleRssMb: number;
  /** The proxy process's resident memory after the runs, and its peak; target ≤ 64 MB. */
  rssMb: number;
  peakRssMb: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** An Anthropic-shaped SSE answer of about `bytes` bytes: text deltas, usage at start and end. */
function sseBody(bytes: number): Buffer {
  const text = 'x'.repeat(96);
  const delta = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}\n\n`;
  const start =
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}\n\n';
  const end = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":99}}\n\n';
  return Buffer.from(start + delta.repeat(Math.ceil(bytes / delta.length)) + end);
}

async function startUpstream(big: Buffer): Promise<{ server: Server; base: string }> {
  const small = sseBody(0);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(req.url?.startsWith('/v1/messages?big') ? big : small);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Time to the first body byte, and to the last, of one POST (ms). */
function timed(base: string, path: string, headers: Record<string, string>, agent: Agent) {
  return new Promise<{ first: number; last: number; bytes: number }>((resolve, reject) => {
    const started = performance.now();
    let first = 0;
    let bytes = 0;
    const url = new URL(path, base);
    const req = request(url, { method: 'POST', headers, agent }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) first = performance.now() - started;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ first, last: performance.now() - started, bytes }));
    });
    req.on('error', reject);
    req.end('{"model":"m","stream":true}');
  });
}

async function bundleProxy(dir: string): Promise<string> {
  const outfile = join(dir, 'keyfleet-proxy.mjs');
  await build({
    entryPoints: [join(ROOT, 'shared/proxy/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

async function spawnProxy(bundle: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bundle, '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const ready = JSON.parse(line) as { ready?: boolean; url?: string };
    if (ready.ready && ready.url) return { child, url: ready.url };
  }
  throw new Error('the proxy exited before it was ready');
}

/** CPU time (user + system) the process has used so far, in ms (Linux clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A proxy in this process for the same account (its own ticket and fake Keyfleet). */
async function inProcessProxy(upstreamBase: string) {
  const ticket = randomBytes(16).toString('hex');
  const keyfleet = await startFakeKeyfleet(ticket, {
    provider: 'claude',
    taskToken: randomBytes(16).toString('hex'),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    env: {
      ANTHROPIC_API_KEY: `sk-ant-api03-bench-${randomBytes(16).toString('hex')}`,
      ANTHROPIC_BASE_URL: upstreamBase,
    },
    files: [],
  });
  const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0, reportIntervalMs: 3600_000 });
  return {
    url: proxy.url,
    placeholder: proxy.profile.env.ANTHROPIC_API_KEY ?? '',
    close: async () => {
      await proxy.close();
      await keyfleet.close();
    },
  };
}

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Measures the proxy against a direct connection to the same loopback upstream (see the file comment). */
export async function benchProxy(options: { runs?: number; bodyMb?: number } = {}): Promise<ProxyBenchResult> {
  const runs = options.runs ?? 21;
  const bodyMb = options.bodyMb ?? 10;
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-bench-'));
  const upstream = await startUpstream(sseBody(bodyMb * 1024 * 1024));
  const key = `sk-ant-api03-bench-${randomBytes(16).toString('hex')}`;
  const ticket = randomBytes(16).toString('hex');
  const profile: RedeemedProfile = {
    provider: 'claude',
    taskToken: randomBytes(16).toString('hex'),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    env: { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: upstream.base },
    files: [],
  };
  const keyfleet = await startFakeKeyfleet(ticket, profile);
  let child: ChildProcess | undefined;
  try {
    const spawned = await spawnProxy(await bundleProxy(dir), { KEYFLEET_URL: keyfleet.url, KEYFLEET_TICKET: ticket });
    child = spawned.child;
    const agentProfile = (await (await fetch(`${spawned.url}/_keyfleet/profile`)).json()) as {
      env: Record<string, string>;
    };
    const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    const direct = { base: upstream.base, headers: { ...headers, 'x-api-key': key } };
    const proxied = {
      base: spawned.url,
      headers: { ...headers, 'x-api-key': agentProfile.env.ANTHROPIC_API_KEY ?? '' },
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const idle = await memoryOf(child.pid as number);

    const ttfb = { direct: [] as number[], proxy: [] as number[], inProcess: [] as number[] };
    const local = await inProcessProxy(upstream.base);
    const inProcess = { base: local.url, headers: { ...headers, 'x-api-key': local.placeholder } };
    try {
      for (let i = 0; i < runs + 5; i++) {
        const d = await timed(direct.base, '/v1/messages', direct.headers, agent);
        const p = await timed(proxied.base, '/v1/messages', proxied.headers, agent);
        const l = await timed(inProcess.base, '/v1/messages', inProcess.headers, agent);
        if (i >= 5) {
          ttfb.direct.push(d.first);
          ttfb.proxy.push(p.first);
          ttfb.inProcess.push(l.first);
        }
      }
    } finally {
      await local.close();
    }
    const full = { direct: [] as number[], proxy: [] as number[] };
    let bytes = 0;
    const cpuBefore = await cpuMsOf(child.pid as number);
    for (let i = 0; i < 6; i++) {
      const d = await timed(direct.base, '/v1/messages?big', direct.headers, agent);
      const p = await timed(proxied.base, '/v1/messages?big', proxied.headers, agent);
      bytes = d.bytes;
      if (p.bytes !== d.bytes) throw new Error(`the proxy delivered ${p.bytes} bytes of ${d.bytes}`);
      if (i >= 1) {
        full.direct.push(d.last);
        full.proxy.push(p.last);
      }
    }
    const cpuMs = (await cpuMsOf(child.pid as number)) - cpuBefore;
    const memory = await memoryOf(child.pid as number);
    agent.destroy();
    const mbps = (ms: number) => bytes / 1024 / 1024 / (ms / 1000);
    const directMs = median(full.direct);
    const proxyMs = median(full.proxy);
    return {
      runs,
      ttfbDirectMs: median(ttfb.direct),
      ttfbProxyMs: median(ttfb.proxy),
      ttfbAddedMs: median(ttfb.proxy) - median(ttfb.direct),
      ttfbAddedInProcessMs: median(ttfb.inProcess) - median(ttfb.direct),
      bodyMb: bytes / 1024 / 1024,
      throughputDirectMBps: mbps(directMs),
      throughputProxyMBps: mbps(proxyMs),
      throughputRatio: directMs / proxyMs,
      proxyCpuMsPerMb: cpuMs / ((bytes / 1024 / 1024) * 6),
      idleRssMb: idle.rss,
      rssMb: memory.rss,
      peakRssMb: memory.peak,
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await keyfleet.close();
    await new Promise<void>((resolve) => {
      upstream.server.closeAllConnections();
      upstream.server.close(() => resolve());
    });
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchProxy();
  const f = (n: number, digits = 2) => n.toFixed(digits);
  process.stdout.write(
    [
      `proxy: added time to first byte in process ${f(r.ttfbAddedInProcessMs, 3)} ms (the proxy's own code path)`,
      `proxy: added time to first byte ${f(r.ttfbAddedMs, 3)} ms (median of ${r.runs}: direct ${f(r.ttfbDirectMs, 3)} ms, proxy ${f(r.ttfbProxyMs, 3)} ms; target ≤ 1 ms)`,
      `proxy: ${f(r.bodyMb, 1)} MB SSE at ${f(r.throughputProxyMBps, 0)} MB/s vs ${f(r.throughputDirectMBps, 0)} MB/s direct = ${f(r.throughputRatio * 100, 1)} % (target ≥ 95 %)`,
      `proxy: ${f(r.proxyCpuMsPerMb, 2)} ms of proxy CPU per MB streamed; machine load ${f(loadavg()[0] ?? 0, 1)} on ${availableParallelism()} cores`,
      `proxy: resident memory ${f(r.idleRssMb, 1)} MB idle, ${f(r.rssMb, 1)} MB after the runs, peak ${f(r.peakRssMb, 1)} MB (target ≤ 64 MB)`,
    ]
      .map((line) => `${line}\n`)
      .join(''),
  );
}

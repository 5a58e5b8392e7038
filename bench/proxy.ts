/**
 * The credential proxy's overhead against a direct connection to the same local upstream, in one
 * run: added time to first byte, streaming throughput of a 10 MB SSE answer, and the proxy's
 * resident memory. The proxy runs as its own process, bundled as the sidecar runs it, so its
 * memory is its own. For scale, the same answer also goes through a bare relay (`http.request` and
 * `pipe`, nothing else) in its own process: what any Node relay costs on this machine. All three
 * paths share one client, one upstream and one body, and take turns (the order rotates each run).
 * `npx tsx bench/proxy.ts` prints the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { localCliBundle } from '#infra/local/runner.ts';
import type { RedeemedProfile } from '#shared/proxy/grant.ts';
import { startProxy } from '#shared/proxy/server.ts';
import { type FakeKeyfleet, startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { type Summary, summarize } from './stats.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ProxyBenchResult {
  runs: number;
  ttfbDirectMs: number;
  ttfbProxyMs: number;
  /** Median through the proxy minus median direct; target ≤ 1 ms. */
  ttfbAddedMs: number;
  /** The same per run (proxy minus the direct run beside it), with its spread. */
  ttfbAdded: Summary;
  /**
   * The same with the proxy in the bench's own process: its code path alone, without the wake-up
   * of another process, which on a busy machine is most of the figure above.
   */
  ttfbAddedInProcessMs: number;
  bodyMb: number;
  streamingRuns: number;
  throughputDirectMBps: number;
  throughputProxyMBps: number;
  /** Proxy throughput as a share of direct (ratio of the medians); target ≥ 0.95. */
  throughputRatio: number;
  /** The same per run (direct time / proxy time of the runs side by side), with its spread. */
  throughput: Summary;
  /** The bare relay's throughput as a share of direct, measured alike: the ceiling for a Node relay here. */
  bareRelayRatio: Summary;
  /** CPU the proxy spent per MB streamed (load-independent, unlike the ratio on a busy machine). */
  proxyCpuMsPerMb: number;
  /** The bare relay's CPU per MB, for scale. */
  bareRelayCpuMsPerMb: number;
  /** The proxy's resident memory once started and serving, before any load. */
  idleRssMb: number;
  /** The proxy process's resident memory after the runs, and its peak; target ≤ 64 MB. */
  rssMb: number;
  peakRssMb: number;
  /** The bare relay's peak, for scale. */
  bareRelayPeakRssMb: number;
  /** `keyfleet proxy` from the single-file CLI bundle (`npm run build:cli`), idle: what the CLI adds. */
  cliIdleRssMb: number;
}

/** An Anthropic-shaped SSE answer of about `bytes` bytes: text deltas, usage at start and end. */
function sseBody(bytes: number): Buffer {
  const text = 'x'.repeat(96);
  const delta = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}\n\n`;
  const start =
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}\n\n';
  const end = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":99}}\n\n';
  return Buffer.from(start + delta.repeat(Math.ceil(bytes / delta.length)) + end);
}

/** Writes of this size, as a provider flushes batches of events; never a whole answer at once. */
const UPSTREAM_WRITE_BYTES = 64 * 1024;

/** Answers like a provider's SSE stream: chunked, written piece by piece, honouring backpressure. */
async function startUpstream(big: Buffer): Promise<{ server: Server; base: string }> {
  const small = sseBody(0);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const body = req.url?.startsWith('/v1/messages?big') ? big : small;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let at = 0; at < body.length; at += UPSTREAM_WRITE_BYTES) {
        if (!res.write(body.subarray(at, at + UPSTREAM_WRITE_BYTES))) await new Promise((r) => res.once('drain', r));
      }
      res.end();
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

async function bundle(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Starts `node <args>` and resolves once it prints its ready line (`{"ready":true,"url":…}`). */
async function spawnReady(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const ready = JSON.parse(line) as { ready?: boolean; url?: string };
    if (ready.ready && ready.url) return { child, url: ready.url };
  }
  throw new Error(`${args[0]} exited before it was ready`);
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The least a Node relay does: forward the request, pipe the answer back. */
const BARE_RELAY = `import { Agent, createServer, request } from 'node:http';
const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true });
const server = createServer({ noDelay: true }, (req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  const out = request(upstream, { path: req.url, method: req.method, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  req.pipe(out);
});
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: true, url: 'http://127.0.0.1:' + server.address().port })));
`;

/** CPU time (user + system) the process has used so far, in ms (Linux clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** A Claude API-key account on `upstreamBase`, behind its own ticket and fake Keyfleet. */
async function account(upstreamBase: string): Promise<{ key: string; ticket: string; keyfleet: FakeKeyfleet }> {
  const key = `sk-ant-api03-bench-${randomBytes(16).toString('hex')}`;
  const ticket = randomBytes(16).toString('hex');
  const profile: RedeemedProfile = {
    provider: 'claude',
    taskToken: randomBytes(16).toString('hex'),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    env: { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: upstreamBase },
    files: [],
  };
  return { key, ticket, keyfleet: await startFakeKeyfleet(ticket, profile) };
}

/** A proxy in this process for the same upstream (its own account). */
async function inProcessProxy(upstreamBase: string) {
  const { ticket, keyfleet } = await account(upstreamBase);
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

/** `keyfleet proxy` as the CLI bundle runs it (split as `npm run build:cli` and local mode build it): resident memory once ready (MB). */
async function cliIdleRss(upstreamBase: string): Promise<number> {
  const cli = await localCliBundle();
  const { ticket, keyfleet } = await account(upstreamBase);
  let child: ChildProcess | undefined;
  try {
    const env = { KEYFLEET_URL: keyfleet.url, KEYFLEET_TICKET: ticket };
    child = (await spawnReady([cli, 'proxy', '--port', '0'], env)).child;
    await new Promise((resolve) => setTimeout(resolve, 200));
    return (await memoryOf(child.pid as number)).rss;
  } finally {
    await stop(child);
    await keyfleet.close();
  }
}

interface Target {
  base: string;
  headers: Record<string, string>;
}

/** Runs `measure` on each target in turn, `runs` times after `warmup`; the order rotates each run. */
async function rotate<T>(
  targets: Target[],
  runs: number,
  warmup: number,
  measure: (target: Target) => Promise<T>,
): Promise<T[][]> {
  const results: T[][] = targets.map(() => []);
  for (let i = 0; i < runs + warmup; i++) {
    for (let k = 0; k < targets.length; k++) {
      const index = (i + k) % targets.length;
      const value = await measure(targets[index] as Target);
      if (i >= warmup) results[index]?.push(value);
    }
  }
  return results;
}

/** Time to first byte of a small streamed answer, per target (ms). */
async function measureTtfb(targets: Target[], runs: number, agent: Agent): Promise<number[][]> {
  return rotate(targets, runs, 5, async (t) => (await timed(t.base, '/v1/messages', t.headers, agent)).first);
}

/** Time to the last byte of the big answer, per target (ms); every path must deliver every byte. */
async function measureStreaming(targets: Target[], runs: number, agent: Agent): Promise<number[][]> {
  let expected = -1;
  return rotate(targets, runs, 1, async (t) => {
    const r = await timed(t.base, '/v1/messages?big', t.headers, agent);
    if (expected < 0) expected = r.bytes;
    if (r.bytes !== expected) throw new Error(`${t.base} delivered ${r.bytes} bytes of ${expected}`);
    return r.last;
  });
}

const median = (values: number[]): number => summarize(values).median;
const pairwise = (a: number[], b: number[], f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i] ?? 0));

/** What the runs measured, as the result's figures. */
function figures(ttfb: number[][], streaming: number[][], bodyBytes: number) {
  const [direct = [], proxy = [], inProcess = []] = ttfb;
  const [sDirect = [], sProxy = [], sBare = []] = streaming;
  const mbps = (ms: number) => bodyBytes / 1024 / 1024 / (ms / 1000);
  return {
    ttfbDirectMs: median(direct),
    ttfbProxyMs: median(proxy),
    ttfbAddedMs: median(proxy) - median(direct),
    ttfbAdded: summarize(pairwise(proxy, direct, (p, d) => p - d)),
    ttfbAddedInProcessMs: median(inProcess) - median(direct),
    bodyMb: bodyBytes / 1024 / 1024,
    streamingRuns: sDirect.length,
    throughputDirectMBps: mbps(median(sDirect)),
    throughputProxyMBps: mbps(median(sProxy)),
    throughputRatio: median(sDirect) / median(sProxy),
    throughput: summarize(pairwise(sDirect, sProxy, (d, p) => d / p)),
    bareRelayRatio: summarize(pairwise(sDirect, sBare, (d, b) => d / b)),
  };
}

/** Measures the proxy against a direct connection to the same loopback upstream (see the file comment). */
export async function benchProxy(options: { runs?: number; bodyMb?: number } = {}): Promise<ProxyBenchResult> {
  const runs = options.runs ?? 21;
  const streamingRuns = Math.max(5, Math.ceil(runs / 2));
  const big = sseBody((options.bodyMb ?? 10) * 1024 * 1024);
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-bench-'));
  const upstream = await startUpstream(big);
  const { key, ticket, keyfleet } = await account(upstream.base);
  const children: ChildProcess[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const local = await inProcessProxy(upstream.base);
  try {
    const proxyBundle = await bundle('shared/proxy/main.ts', join(dir, 'keyfleet-proxy.mjs'));
    const env = { KEYFLEET_URL: keyfleet.url, KEYFLEET_TICKET: ticket };
    const proxy = await spawnReady([proxyBundle, '--port', '0'], env);
    await writeFile(join(dir, 'bare-relay.mjs'), BARE_RELAY);
    const bare = await spawnReady([join(dir, 'bare-relay.mjs'), upstream.base], {});
    children.push(proxy.child, bare.child);
    const [proxyPid, barePid] = [proxy.child.pid as number, bare.child.pid as number];
    const profile = (await (await fetch(`${proxy.url}/_keyfleet/profile`)).json()) as { env: Record<string, string> };
    const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    const direct = { base: upstream.base, headers: { ...headers, 'x-api-key': key } };
    const proxied = { base: proxy.url, headers: { ...headers, 'x-api-key': profile.env.ANTHROPIC_API_KEY ?? '' } };
    const inProcess = { base: local.url, headers: { ...headers, 'x-api-key': local.placeholder } };
    const relayed = { base: bare.url, headers: direct.headers };
    const idle = await memoryOf(proxyPid);

    const ttfb = await measureTtfb([direct, proxied, inProcess], runs, agent);
    const cpuBefore = [await cpuMsOf(proxyPid), await cpuMsOf(barePid)];
    const streaming = await measureStreaming([direct, proxied, relayed], streamingRuns, agent);
    const streamedMb = (big.length / 1024 / 1024) * (streamingRuns + 1);
    const cpuMsPerMb = async (pid: number, before = 0) => ((await cpuMsOf(pid)) - before) / streamedMb;
    const memory = await memoryOf(proxyPid);
    return {
      runs,
      ...figures(ttfb, streaming, big.length),
      proxyCpuMsPerMb: await cpuMsPerMb(proxyPid, cpuBefore[0]),
      bareRelayCpuMsPerMb: await cpuMsPerMb(barePid, cpuBefore[1]),
      idleRssMb: idle.rss,
      rssMb: memory.rss,
      peakRssMb: memory.peak,
      bareRelayPeakRssMb: (await memoryOf(barePid)).peak,
      cliIdleRssMb: await cliIdleRss(upstream.base),
    };
  } finally {
    agent.destroy();
    for (const child of children) await stop(child);
    await local.close();
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
  const spread = (s: Summary, digits = 2, scale = 1) =>
    `${f(s.median * scale, digits)} (${f(s.min * scale, digits)}–${f(s.max * scale, digits)})`;
  process.stdout.write(
    [
      `proxy: added time to first byte in process ${f(r.ttfbAddedInProcessMs, 3)} ms (the proxy's own code path)`,
      `proxy: added time to first byte ${f(r.ttfbAddedMs, 3)} ms (median of ${r.runs}: direct ${f(r.ttfbDirectMs, 3)} ms, proxy ${f(r.ttfbProxyMs, 3)} ms; per run ${spread(r.ttfbAdded, 3)}; target ≤ 1 ms)`,
      `proxy: ${f(r.bodyMb, 1)} MB SSE at ${f(r.throughputProxyMBps, 0)} MB/s vs ${f(r.throughputDirectMBps, 0)} MB/s direct = ${f(r.throughputRatio * 100, 1)} % (per run ${spread(r.throughput, 1, 100)} % of ${r.streamingRuns}; target ≥ 95 %)`,
      `proxy: a bare Node relay (request + pipe) streams at ${spread(r.bareRelayRatio, 1, 100)} % of direct`,
      `proxy: CPU per MB streamed ${f(r.proxyCpuMsPerMb)} ms (bare relay ${f(r.bareRelayCpuMsPerMb)} ms); machine load ${f(loadavg()[0] ?? 0, 1)} on ${availableParallelism()} cores`,
      `proxy: resident memory ${f(r.idleRssMb, 1)} MB idle, ${f(r.rssMb, 1)} MB after the runs, peak ${f(r.peakRssMb, 1)} MB (target ≤ 64 MB; bare relay peak ${f(r.bareRelayPeakRssMb, 1)} MB)`,
      `proxy: \`keyfleet proxy\` from the CLI bundle idles at ${f(r.cliIdleRssMb, 1)} MB`,
    ]
      .map((line) => `${line}\n`)
      .join(''),
  );
}

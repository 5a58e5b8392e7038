/**
 * `npm run bench`: Keyfleet's hot paths and bundles against the embedded endpoints on loopback.
 * Each figure is the median of several runs with their minimum and maximum; each comparison is a
 * ratio to a baseline measured in the same run, interleaved with it; each figure has its target
 * and a verdict. Prints the table and writes `bench/results.json`.
 *
 * `BENCH_SECTIONS` (comma-separated: bundles, calls, latency, roundrobin, sweep, local, proxy)
 * limits the run; `BENCH_RUNS`, `BENCH_SWEEP_ACCOUNTS`, `BENCH_SWEEP_RUNS` and `BENCH_OUT` change
 * its size and where the results go.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { logger } from '#shared/log/logger.ts';
import { startLocalAws } from '#test/helpers/local-aws.ts';
import { type CallCounts, startCountingProxy } from './counting-proxy.ts';
import { atLeast, atMost, type Figure, once } from './stats.ts';
import { formatTable } from './table.ts';
import { startTokenEndpoint } from './token-endpoint.ts';

// Every launch and redemption writes an audit line; hundreds of them would bury the table.
logger.setLogLevel('SILENT');
// The SDK's notice about Node 20 (once per client) is noise before the table too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['bundles', 'calls', 'latency', 'roundrobin', 'sweep', 'local', 'proxy'];
const sections = new Set((process.env.BENCH_SECTIONS ?? ALL.join(',')).split(',').map((s) => s.trim()));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const SWEEP_ACCOUNTS = Number(process.env.BENCH_SWEEP_ACCOUNTS ?? 500);
const SWEEP_RUNS = Math.max(1, Number(process.env.BENCH_SWEEP_RUNS ?? 1));
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'results.json');
const started = performance.now();
const figures: Figure[] = [];
const extra: Record<string, unknown> = {};

if (sections.has('bundles')) {
  const { benchBundles } = await import('./bundles.ts');
  const report = await benchBundles(ROOT, RUNS);
  figures.push(...report.figures);
  extra.bundles = report.bundles;
}

const needsAws = ['calls', 'latency', 'roundrobin', 'sweep'].some((s) => sections.has(s));
if (needsAws) await benchAws();

if (sections.has('local')) {
  const { benchLocalTask } = await import('./local-task.ts');
  figures.push(...(await benchLocalTask(ROOT, RUNS)));
}

if (sections.has('proxy')) figures.push(...(await benchProxyHook()));

/** Everything that runs against the embedded endpoints, counted by a proxy in front of each. */
async function benchAws(): Promise<void> {
  const aws = await startLocalAws({ KEYFLEET_ALLOW_LOOPBACK_CALLS: 'true', KEYFLEET_API_URL: 'http://127.0.0.1:9' });
  const tally: CallCounts = {};
  const dynamo = await startCountingProxy('dynamodb', aws.dynamoEndpoint, tally);
  const secrets = await startCountingProxy('secrets', aws.secrets.endpoint, tally);
  const tokens = await startTokenEndpoint();
  // Before the code under test makes its clients or reads its providers.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
  process.env.KEYFLEET_PROVIDER_OVERRIDES = JSON.stringify(tokens.overrides('claude'));
  try {
    const hot = await import('./hot-paths.ts');
    const world = await hot.buildWorld(tokens);
    if (sections.has('calls')) figures.push(...(await hot.benchCalls(dynamo, world, tokens, RUNS)));
    if (sections.has('latency')) figures.push(...(await hot.benchLatency(world, RUNS, 20)));
    if (sections.has('roundrobin')) figures.push(...(await hot.benchRoundRobin(world, RUNS)));
    if (sections.has('sweep')) {
      const { benchSweep } = await import('./sweep.ts');
      // At the default pacing a sweep of 500 takes 50 s whatever the code does: one run.
      figures.push(...(await benchSweep(tokens, SWEEP_ACCOUNTS, { atDefault: SWEEP_RUNS, atMaximum: RUNS })));
    }
  } finally {
    await tokens.close();
    await dynamo.close();
    await secrets.close();
    await aws.stop();
  }
}

/**
 * The credential proxy's overhead, from `bench/proxy.ts` (its own module: TTFB added, streaming
 * throughput, memory) when it exists; otherwise a row saying it was not measured.
 */
async function benchProxyHook(): Promise<Figure[]> {
  const section = 'credential proxy';
  const file = join(ROOT, 'bench', 'proxy.ts');
  if (!existsSync(file)) {
    return [{ section, name: 'HOOK: bench/proxy.ts is missing, not measured', unit: '', value: once(0) }];
  }
  const { benchProxy } = (await import(pathToFileURL(file).href)) as typeof import('./proxy.ts');
  const r = await benchProxy();
  const note = `${r.runs} runs, each proxy run beside a direct one`;
  const relayNote = 'a 10-line Node relay (request + pipe) in its own process: the ceiling for any Node relay here';
  return [
    atMost({ section, name: 'added time to first byte', unit: 'ms', value: r.ttfbAdded, note }, 1),
    atMost(
      { section, name: 'added time to first byte, in process', unit: 'ms', value: once(r.ttfbAddedInProcessMs) },
      1,
    ),
    atLeast(
      {
        section,
        name: `streaming throughput / direct (${r.bodyMb.toFixed(0)} MB SSE)`,
        unit: '×',
        value: r.throughput,
        note: `${r.streamingRuns} runs`,
      },
      0.95,
    ),
    { section, name: 'bare relay throughput / direct', unit: '×', value: r.bareRelayRatio, note: relayNote },
    {
      section,
      name: 'CPU per MB streamed',
      unit: 'ms',
      value: once(r.proxyCpuMsPerMb),
      note: `bare relay ${r.bareRelayCpuMsPerMb.toFixed(2)} ms`,
    },
    atMost(
      {
        section,
        name: 'peak resident memory',
        unit: 'MB',
        value: once(r.peakRssMb),
        note: `idle ${r.idleRssMb.toFixed(1)} MB; bare relay peak ${r.bareRelayPeakRssMb.toFixed(1)} MB`,
      },
      64,
    ),
    { section, name: '`keyfleet proxy` from the CLI bundle, idle', unit: 'MB', value: once(r.cliIdleRssMb) },
  ];
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = {
  cpu,
  cores: availableParallelism(),
  memoryGb: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  load: loadavg()[0],
};
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `\nKeyfleet bench — node ${process.version}, ${machine.cores} × ${cpu}, median of ${RUNS} runs (min–max; cold imports ${Math.max(RUNS, 9)}), embedded endpoints on loopback\n\n`,
);
process.stdout.write(formatTable(figures));
const unmet = figures.filter((f) => f.met === false);
process.stdout.write(
  `\n${figures.filter((f) => f.met).length} targets met, ${unmet.length} not met, ${seconds.toFixed(0)} s; results in ${relative(process.cwd(), OUT)}\n`,
);
if (extra.bundles) {
  process.stdout.write('\nlargest contributors per bundle (KB in the minified output):\n');
  for (const [name, b] of Object.entries(
    extra.bundles as Record<string, { top: { input: string; bytes: number }[] }>,
  )) {
    process.stdout.write(
      `  ${name.padEnd(13)} ${b.top.map((t) => `${t.input} ${(t.bytes / 1024).toFixed(0)}`).join(', ')}\n`,
    );
  }
}
await writeFile(
  OUT,
  `${JSON.stringify({ date: new Date().toISOString(), seconds: Math.round(seconds), machine, runs: RUNS, figures, ...extra }, null, 2)}\n`,
);

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { functionBuildOptions } from '#infra/constructs/keyfleet-function.ts';
import { atMost, type Figure, interleaved, summarize } from './stats.ts';

/** The SDK packages a function may bundle, and the client each one's baseline constructs. */
const SDK_CLIENTS: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/client-secrets-manager': 'SecretsManagerClient',
  '@aws-sdk/client-lambda': 'LambdaClient',
  '@aws-sdk/client-ecs': 'ECSClient',
  '@aws-sdk/lib-dynamodb': 'DynamoDBDocumentClient',
};

export interface BuiltBundle {
  file: string;
  bytes: number;
  gzip: number;
  /** Bytes each package (or source folder) puts into the output, largest first. */
  contributors: { input: string; bytes: number }[];
  sdkPackages: string[];
}

/** Which package (or `shared/<area>`) a metafile input belongs to. */
function ownerOf(input: string): string {
  const inModules = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  return inModules?.[1] ?? input.split('/').slice(0, 2).join('/');
}

function contributors(metafile: Metafile): { input: string; bytes: number }[] {
  const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    totals.set(ownerOf(input), (totals.get(ownerOf(input)) ?? 0) + bytesInOutput);
  }
  return [...totals].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function measureFile(file: string, metafile: Metafile): Promise<BuiltBundle> {
  const code = await readFile(file);
  const parts = contributors(metafile);
  const sdkPackages = parts.map((p) => p.input).filter((p) => p in SDK_CLIENTS);
  return { file, bytes: code.length, gzip: gzipSync(code).length, contributors: parts, sdkPackages };
}

/** Bundles `entry` exactly as the stack does, into `outdir/index.mjs`. */
export async function bundleFunction(root: string, entry: string, outdir: string): Promise<BuiltBundle> {
  const file = join(outdir, 'index.mjs');
  const result = await build({ ...functionBuildOptions(entry, file), absWorkingDir: root });
  return measureFile(file, result.metafile as Metafile);
}

/** A handler that only constructs the same SDK clients, bundled with the same settings. */
export async function bundleBaseline(root: string, sdkPackages: string[], outdir: string): Promise<BuiltBundle> {
  const file = join(outdir, 'index.mjs');
  const imports = sdkPackages.map((p) => `import { ${SDK_CLIENTS[p]} } from '${p}';`).join('\n');
  const made = sdkPackages
    .map((p) =>
      p === '@aws-sdk/lib-dynamodb'
        ? 'DynamoDBDocumentClient.from(new DynamoDBClient({}))'
        : `new ${SDK_CLIENTS[p]}({})`,
    )
    .join(', ');
  const { entryPoints: _unused, ...options } = functionBuildOptions('', file);
  const result = await build({
    ...options,
    absWorkingDir: root,
    stdin: {
      contents: `${imports}\nexport const handler = async () => [${made}].length;\n`,
      resolveDir: root,
      loader: 'ts',
      sourcefile: 'baseline.ts',
    },
  });
  return measureFile(file, result.metafile as Metafile);
}

/** Environment a function needs to pass its start-up checks, as on Lambda (nothing is called). */
const INIT_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'keyfleet-bench',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  KEYFLEET_TABLE_NAME: 'keyfleet-bench',
  KEYFLEET_STAGE: 'bench',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** One cold start: its wall time, and the CPU (user + system) the process used until the import finished. */
export interface ColdImport {
  wallMs: number;
  cpuMs: number;
}

/**
 * A fresh `node --enable-source-maps` that imports `file` and exits, as a cold start does. The
 * child reports its own CPU time, which a busy machine disturbs far less than the wall time.
 */
export function coldImport(file: string): Promise<ColdImport> {
  const script = `await import(${JSON.stringify(pathToFileURL(file).href)});
const cpu = process.cpuUsage();
process.stdout.write(String((cpu.user + cpu.system) / 1000));`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...INIT_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code === 0) resolve({ wallMs, cpuMs: Number(stdout) });
      else reject(new Error(`importing ${file} failed (${code}): ${stderr.slice(0, 400)}`));
    });
  });
}

/** Wall time (ms) of a fresh `node --enable-source-maps` that imports `file` and exits, as a cold start does. */
export async function coldImportMs(file: string): Promise<number> {
  return (await coldImport(file)).wallMs;
}

export interface BundleReport {
  figures: Figure[];
  bundles: Record<
    string,
    { bytes: number; gzip: number; baselineBytes: number; top: { input: string; bytes: number }[] }
  >;
}

const KB = (n: number) => n / 1024;

/** Every `functions/*.ts`: size, gzip and cold import against its SDK-only baseline. */
export async function benchBundles(root: string, runs: number): Promise<BundleReport> {
  const work = await mkdtemp(join(tmpdir(), 'keyfleet-bench-bundles-'));
  const figures: Figure[] = [];
  const bundles: BundleReport['bundles'] = {};
  try {
    const names = (await readdir(join(root, 'functions'))).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    const baselines = new Map<string, BuiltBundle>();
    for (const name of names.sort()) {
      const built = await bundleFunction(root, join(root, 'functions', `${name}.ts`), join(work, name));
      const key = built.sdkPackages.join('+') || 'none';
      let baseline = baselines.get(key);
      if (!baseline) {
        baseline = await bundleBaseline(root, built.sdkPackages, join(work, `baseline-${baselines.size}`));
        baselines.set(key, baseline);
      }
      bundles[name] = {
        bytes: built.bytes,
        gzip: built.gzip,
        baselineBytes: baseline.bytes,
        top: built.contributors.slice(0, 6),
      };
      figures.push(...(await bundleFigures(name, built, baseline, runs)));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { figures, bundles };
}

/** Bytes and gzip: against the baseline, or against a fixed budget when the function has no SDK client. */
function sizeFigures(section: string, built: BuiltBundle, baseline: BuiltBundle): Figure[] {
  const exact = (name: string, unit: string, value: number, note?: string): Figure => ({
    section,
    name,
    unit,
    value: summarize([value]),
    exact: true,
    ...(note ? { note } : {}),
  });
  if (built.sdkPackages.length === 0) {
    return [
      atMost(exact('bytes (no SDK client to compare with)', 'KB', KB(built.bytes)), 64),
      atMost(exact('gzip (no SDK client to compare with)', 'KB', KB(built.gzip)), 16),
    ];
  }
  const versus = (a: number, b: number) => `${KB(a).toFixed(0)} KB vs ${KB(b).toFixed(0)} KB`;
  return [
    atMost(
      exact('bytes / SDK-only baseline', '×', built.bytes / baseline.bytes, versus(built.bytes, baseline.bytes)),
      1.25,
    ),
    atMost(exact('gzip / SDK-only baseline', '×', built.gzip / baseline.gzip, versus(built.gzip, baseline.gzip)), 1.25),
  ];
}

/** Cold imports of the bundle and its baseline, interleaved, after one warm-up start of each. */
async function coldFigures(section: string, built: BuiltBundle, baseline: BuiltBundle, runs: number) {
  await coldImport(built.file); // the first start also warms the file cache
  await coldImport(baseline.file);
  const cpu = { subject: [] as number[], baseline: [] as number[] };
  const start = async (file: string, into: number[]) => {
    const { wallMs, cpuMs } = await coldImport(file);
    into.push(cpuMs);
    return wallMs;
  };
  const cold = await interleaved(
    runs,
    () => start(built.file, cpu.subject),
    () => start(baseline.file, cpu.baseline),
  );
  const cpuRatio = cpu.subject.map((ms, i) => ms / (cpu.baseline[i] ?? Number.NaN));
  const figures: Figure[] = [
    { section, name: 'cold import, --enable-source-maps', unit: 'ms', value: summarize(cold.subject) },
    { section, name: 'cold import of the baseline', unit: 'ms', value: summarize(cold.baseline) },
    atMost({ section, name: 'cold import / baseline', unit: '×', value: summarize(cold.ratio) }, 1.2),
    {
      section,
      name: 'cold import CPU / baseline',
      unit: '×',
      value: summarize(cpuRatio),
      note: `user + system of the same starts, ${summarize(cpu.subject).median.toFixed(0)} vs ${summarize(cpu.baseline).median.toFixed(0)} ms: steadier than wall time on a busy machine`,
    },
  ];
  if (built.sdkPackages.length === 0) {
    for (const f of figures) f.note = 'no SDK client: the baseline is an empty handler';
  }
  return figures;
}

async function bundleFigures(name: string, built: BuiltBundle, baseline: BuiltBundle, runs: number): Promise<Figure[]> {
  const section = `bundle ${name}`;
  return [...sizeFigures(section, built, baseline), ...(await coldFigures(section, built, baseline, runs))];
}

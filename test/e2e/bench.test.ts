import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleBaseline, bundleFunction, coldImportMs } from '../../bench/bundles.ts';
import { interleaved, summarize } from '../../bench/stats.ts';
import { formatTable } from '../../bench/table.ts';

const work = mkdtempSync(join(tmpdir(), 'keyfleet-bench-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Results {
  machine: { cores: number; node: string };
  runs: number;
  figures: {
    section: string;
    name: string;
    unit: string;
    value: { median: number; min: number; max: number; runs: number };
    target?: string;
    met?: boolean;
    note?: string;
  }[];
}

describe('npm run bench', () => {
  it('regression: prints a short header and the table, without log lines before it, and writes the results', () => {
    const out = join(work, 'results.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        BENCH_SECTIONS: 'calls,roundrobin,sweep,local',
        BENCH_RUNS: '3',
        BENCH_SWEEP_ACCOUNTS: '12',
        BENCH_OUT: out,
      },
      timeout: 170_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('');
    expect(lines[1]).toMatch(
      /^Keyfleet bench — node v\d+\.\d+\.\d+, \d+ × .+, median of 3 runs \(min–max; cold imports 9\), embedded endpoints on loopback$/,
    );
    expect(lines[2]).toBe('');
    expect(lines[3]).toBe('AWS calls (at the endpoint)');
    expect(run.stdout).not.toMatch(/"level":/);

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.runs).toBe(3);
    expect(results.figures.map((f) => f.section)).toEqual([
      ...Array(5).fill('AWS calls (at the endpoint)'),
      ...Array(2).fill('round robin (1,000 at once, 7 accounts)'),
      ...Array(2).fill('refresh sweep, 12 due, default pacing (4 in flight, 10/s)'),
      ...Array(2).fill('refresh sweep, 12 due, maximum pacing (25 in flight, 40/s)'),
      ...Array(3).fill('local task CPU (keyfleet exec up to redemption)'),
    ]);
    let at = 0;
    for (const figure of results.figures) {
      const { median, min, max } = figure.value;
      expect(min).toBeLessThanOrEqual(median);
      expect(median).toBeLessThanOrEqual(max);
      // Every row of the table shows its figure, its target and its verdict.
      at = lines.findIndex((line, i) => i > at && line.startsWith(`  ${figure.name} `));
      const row = lines[at];
      expect(row).toBeDefined();
      const escaped = (figure.target ?? '—').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const verdict = figure.target === undefined ? '' : figure.met ? 'met' : 'NOT MET';
      expect(row).toMatch(new RegExp(`  ${escaped}${verdict ? ` +${verdict}` : ''}( |$)`));
    }
    const named = (name: string) => results.figures.find((f) => f.name === name);
    // Counted at the endpoint: a refresh reads and writes the vault exactly once.
    expect(named('per account refresh (incl. vault read and write)')?.note).toMatch(
      /SM GetSecretValue 1, SM PutSecretValue 1$/,
    );
    expect(named('per ticket redemption, API key (incl. vault read)')?.note).toContain('SM GetSecretValue 1');
    expect(named('per launch, OAuth pool (plus RunTask)')?.value.runs).toBe(3);
    expect(named('spread (most − fewest per account)')?.value.max).toBeLessThanOrEqual(1);
    const sweeps = results.figures.filter((f) => f.name === 'time');
    expect(sweeps.map((f) => f.value.runs)).toEqual([1, 3]);
    // 12 refreshes at 10 a second: never faster than the pacing allows.
    expect(sweeps[0]?.value.median).toBeGreaterThanOrEqual(1.1);
  }, 180_000);
});

describe('bench bundles', () => {
  it('builds a function as the stack does, and a baseline with only the same SDK clients', async () => {
    const fn = await bundleFunction(process.cwd(), 'functions/task-stopped.ts', join(work, 'fn'));
    const baseline = await bundleBaseline(process.cwd(), fn.sdkPackages, join(work, 'baseline'));
    expect(fn.sdkPackages).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
    expect(baseline.sdkPackages).toEqual(fn.sdkPackages);
    expect(baseline.contributors.map((c) => c.input)).not.toContain('zod');
    expect(fn.contributors.map((c) => c.input)).toContain('zod');
    expect(baseline.bytes).toBeLessThan(fn.bytes);
    expect(baseline.gzip).toBeLessThan(baseline.bytes);
    expect(readFileSync(join(work, 'fn', 'index.mjs.map'), 'utf8')).not.toContain('"sourcesContent"');
    expect(await coldImportMs(join(work, 'fn', 'index.mjs'))).toBeGreaterThan(0);
  }, 60_000);
});

describe('bench statistics', () => {
  it('summarises runs as median, minimum and maximum', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
  });

  it('interleaves subject and baseline, alternating which goes first, and pairs their ratios', async () => {
    const order: string[] = [];
    const values = { s: [10, 20, 30], b: [5, 10, 10] };
    const result = await interleaved(
      3,
      async () => {
        order.push('s');
        return values.s.shift() as number;
      },
      async () => {
        order.push('b');
        return values.b.shift() as number;
      },
    );
    expect(order).toEqual(['s', 'b', 'b', 's', 's', 'b']);
    expect(result).toEqual({ subject: [10, 20, 30], baseline: [5, 10, 10], ratio: [2, 2, 3] });
  });

  it('prints each figure with its spread, target and verdict under its section', () => {
    const table = formatTable([
      { section: 'A', name: 'x', unit: 'ms', value: summarize([1, 2, 3]), target: '≤ 2', met: true },
      {
        section: 'A',
        name: 'y',
        unit: '×',
        value: summarize([1.5]),
        exact: true,
        target: '≤ 1.25',
        met: false,
        note: 'why',
      },
    ]);
    expect(table.split('\n')).toEqual([
      'A',
      '  x        2.00 ms  1.00–3.00  ≤ 2       met',
      '  y         1.50 ×  (exact)    ≤ 1.25    NOT MET  (why)',
      '',
    ]);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { localCliBundle } from '#infra/local/runner.ts';
import { atMost, type Figure, interleaved, summarize } from './stats.ts';

/**
 * CPU (user + system, ms) of one `keyfleet exec` as local mode starts it, up to its ticket
 * redemption (aimed at a closed loopback port, so it ends there): bash's `times` reports what its
 * finished child used.
 */
function taskCpuMs(entry: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', '"$@" >/dev/null 2>&1; times', '_', process.execPath, entry, 'exec', '--', 'true'],
      { env: { PATH: process.env.PATH, KEYFLEET_TICKET: 'kfk_bench', KEYFLEET_URL: 'http://127.0.0.1:9' } },
      (error, stdout) => {
        if (error) return reject(error);
        const children = stdout.trim().split('\n')[1] ?? '';
        const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        if (seconds.length !== 2) return reject(new Error(`unexpected times output: ${stdout}`));
        resolve(((seconds[0] as number) + (seconds[1] as number)) * 1000);
      },
    );
  });
}

/** CPU per local task: the built bundle local mode runs now, against `bin/keyfleet.mjs` through tsx. */
export async function benchLocalTask(root: string, runs: number): Promise<Figure[]> {
  const bundle = await localCliBundle();
  const tsx = join(root, 'bin', 'keyfleet.mjs');
  await taskCpuMs(bundle);
  await taskCpuMs(tsx);
  const result = await interleaved(
    runs,
    () => taskCpuMs(bundle),
    () => taskCpuMs(tsx),
  );
  const section = 'local task CPU (keyfleet exec up to redemption)';
  return [
    atMost({ section, name: 'built bundle (what local mode runs)', unit: 'ms', value: summarize(result.subject) }, 150),
    { section, name: 'bin/keyfleet.mjs through tsx (before)', unit: 'ms', value: summarize(result.baseline) },
    { section, name: 'bundle / tsx', unit: '×', value: summarize(result.ratio) },
  ];
}

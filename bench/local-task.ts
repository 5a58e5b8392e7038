import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { localCliBundle } from '#infra/local/runner.ts';
import { atMost, type Figure, interleaved, summarize } from './stats.ts';

/**
 * CPU (user + system, ms) of `node <args>` started the way local mode starts a task (only PATH and
 * the task's variables in its environment; for `keyfleet exec`, aimed at a closed loopback port, so
 * it ends at its ticket redemption): bash's `times` reports what its finished child used.
 */
function cpuMs(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', '"$@" >/dev/null 2>&1; times', '_', process.execPath, ...args],
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

const execArgs = (entry: string) => [entry, 'exec', '--', 'true'];

/**
 * CPU per local task: the built bundle local mode runs now, against `bin/keyfleet.mjs` through tsx,
 * with a bare `node -e 0` in the same rotation. On a shared machine the absolute figure follows the
 * load (the floor alone doubles on a busy one); the bare start shows how much of it is Node's own.
 */
export async function benchLocalTask(root: string, runs: number): Promise<Figure[]> {
  const bundle = await localCliBundle();
  const tsx = join(root, 'bin', 'keyfleet.mjs');
  const bare = ['-e', '0'];
  for (const args of [execArgs(bundle), execArgs(tsx), bare]) await cpuMs(args);
  const floor: number[] = [];
  const result = await interleaved(
    runs,
    async () => {
      floor.push(await cpuMs(bare));
      return cpuMs(execArgs(bundle));
    },
    () => cpuMs(execArgs(tsx)),
  );
  const section = 'local task CPU (keyfleet exec up to redemption)';
  const node = summarize(floor);
  const over = summarize(result.subject.map((value, i) => value - (floor[i] as number)));
  return [
    atMost(
      {
        section,
        name: 'built bundle (what local mode runs)',
        unit: 'ms',
        value: summarize(result.subject),
        note: `node -e 0 alone: ${node.median.toFixed(0)} ms; the bundle adds ${over.median.toFixed(0)} ms`,
      },
      150,
    ),
    { section, name: 'bin/keyfleet.mjs through tsx (before)', unit: 'ms', value: summarize(result.baseline) },
    { section, name: 'bundle / tsx', unit: '×', value: summarize(result.ratio) },
  ];
}

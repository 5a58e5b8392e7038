import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { audit } from '#shared/audit/audit.ts';
import { UpstreamError } from '#shared/errors.ts';
import { localDelivery } from '#shared/launch/local-delivery.ts';
import type { RunRequest, TaskRunner } from '#shared/launch/runner.ts';
import { revokeLaunch } from '#shared/launch/stop.ts';
import { logger } from '#shared/log/logger.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI_DIR = join(ROOT, '.cache', 'local-cli');

let builtCli: Promise<string> | undefined;

/**
 * The `keyfleet` command bundled as `npm run build:cli` does for container images, built once per
 * process: a task then starts in plain Node instead of compiling TypeScript through tsx, and with
 * the operator commands in chunks of their own that `exec` never loads (a third of tsx's CPU).
 * Each build goes to a folder named after its content, written under a temporary name and renamed
 * into place, so processes building at the same time never run a half-written one.
 */
export function localCliBundle(): Promise<string> {
  builtCli ??= buildCli().catch((error: unknown) => {
    builtCli = undefined;
    throw error;
  });
  return builtCli;
}

async function buildCli(): Promise<string> {
  const result = await build({
    entryPoints: { keyfleet: join(ROOT, 'shared', 'cli', 'main.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: CLI_DIR,
    write: false,
    logLevel: 'error',
  });
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
  const dir = join(CLI_DIR, hash.digest('hex').slice(0, 16));
  const entry = join(dir, 'keyfleet.mjs');
  if (existsSync(entry)) return entry;
  await mkdir(CLI_DIR, { recursive: true });
  const partial = await mkdtemp(join(CLI_DIR, 'partial-'));
  await Promise.all(result.outputFiles.map((file) => writeFile(join(partial, basename(file.path)), file.contents)));
  try {
    await rename(partial, dir);
  } catch {
    // Another process put the same build there first.
    await rm(partial, { recursive: true, force: true });
  }
  return entry;
}

/** How long tasks get between SIGTERM and SIGKILL when local mode stops (`docker stop`'s default). */
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** After SIGKILL, how long to wait for the output pipes to close before cleaning up regardless. */
const AFTER_KILL_MS = 2_000;

export interface LocalTaskResult {
  exitCode: number;
  output: string;
  home: string;
}

interface RunningTask {
  child: ChildProcess;
  done: Promise<LocalTaskResult>;
  /** Revokes the launch and removes its HOME; runs once, whoever calls it first. */
  finish: (code: number | null) => Promise<void>;
}

/** Signals the task's whole process group (the agent and whatever it started). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Local mode's stand-in for ECS: runs `ecs.command` under `keyfleet exec` in a private temporary
 * HOME, with exactly what RunTask would carry (the ticket, Keyfleet's URL, the caller's variables)
 * plus PATH, and TMPDIR inside that HOME so whatever the task leaves in its temporary folder goes
 * with it. Each task is its own process group. Output goes to `<dataDir>/tasks/<launch>.log`; when
 * the process ends its launch is revoked, as the STOPPED rule does in the cloud.
 */
export class LocalTaskRunner implements TaskRunner {
  readonly kind = 'local' as const;
  readonly deliveries = ['ticket', 'proxy'] as const;
  private readonly finished = new Map<string, Promise<LocalTaskResult>>();
  private readonly running = new Map<string, RunningTask>();
  private stopping = false;

  constructor(private readonly options: { logDir?: string; keepHome?: boolean } = {}) {}

  run = async (request: RunRequest): Promise<string> => {
    if (this.stopping) throw new UpstreamError('Local mode is stopping: the task was not started.');
    const cli = await localCliBundle();
    const home = await mkdtemp(join(tmpdir(), `keyfleet-task-${request.launchId}-`));
    const work = join(home, 'work');
    const tmp = join(home, 'tmp');
    await mkdir(work, { recursive: true, mode: 0o700 });
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    // Ticket delivery: the ticket and URL. Proxy delivery: a keyfleet proxy process holds those,
    // and the agent gets only KEYFLEET_PROXY_URL.
    const delivery = await localDelivery(request, [process.execPath, cli]).catch(async (error: unknown) => {
      await rm(home, { recursive: true, force: true });
      throw error;
    });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: tmp,
      ...delivery.env,
      ...request.ecs.environment,
    };
    if (this.stopping) {
      // stopAll() began while the HOME was being made; it would not see this task.
      await delivery.stop();
      await rm(home, { recursive: true, force: true });
      throw new UpstreamError('Local mode is stopping: the task was not started.');
    }
    // detached: the task leads its own process group, so stopping it reaches its children too.
    const child = spawn(process.execPath, [cli, 'exec', '--', ...(request.ecs.command ?? [])], {
      env,
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const task = this.track(request.launchId, child, home, delivery.stop);
    this.finished.set(request.launchId, task.done);
    return `local:task/${request.launchId}`;
  };

  private track(launchId: string, child: ChildProcess, home: string, stopProxy: () => Promise<void>): RunningTask {
    let output = '';
    const log = this.options.logDir
      ? createWriteStream(join(this.options.logDir, `${launchId}.log`), { mode: 0o600 })
      : undefined;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        log?.write(chunk);
      });
    }
    let resolveDone: (result: LocalTaskResult) => void = () => undefined;
    const done = new Promise<LocalTaskResult>((resolve) => {
      resolveDone = resolve;
    });
    let finishing: Promise<void> | undefined;
    const finish = (code: number | null): Promise<void> => {
      finishing ??= (async () => {
        log?.end();
        // The proxy's last usage report goes before the launch is revoked.
        await stopProxy();
        await this.release(launchId, code);
        if (!this.options.keepHome) await rm(home, { recursive: true, force: true });
        this.running.delete(launchId);
        resolveDone({ exitCode: code ?? 1, output, home });
      })();
      return finishing;
    };
    child.on('close', (code) => void finish(code));
    const task = { child, done, finish };
    this.running.set(launchId, task);
    return task;
  }

  /** Revokes the launch (stopped, ticket spent, task token refused) and audits the stop. */
  private async release(launchId: string, exitCode: number | null): Promise<void> {
    try {
      await revokeLaunch(launchId);
      await audit({ actor: 'local-runner', action: 'launch.stopped', detail: { launchId, exitCode } });
    } catch (error) {
      logger.error('local task cleanup failed', { launchId, error });
    }
  }

  /** Resolves when the launch's process has ended and its token is revoked. */
  wait(launchId: string): Promise<LocalTaskResult> {
    const found = this.finished.get(launchId);
    if (!found) return Promise.reject(new Error(`no local task for ${launchId}`));
    return found;
  }

  /** The launches whose processes are still running. */
  runningLaunches(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Stops every running task and refuses new ones: SIGTERM to each task's process group, SIGKILL
   * to those still running after `graceMs`; resolves once every launch is revoked and its HOME gone.
   */
  async stopAll(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    const tasks = [...this.running.values()];
    if (tasks.length === 0) return;
    const all = Promise.all(tasks.map((t) => t.done));
    for (const task of tasks) signalGroup(task.child, 'SIGTERM');
    if (await settlesWithin(all, graceMs)) return;
    for (const task of this.running.values()) signalGroup(task.child, 'SIGKILL');
    if (await settlesWithin(all, AFTER_KILL_MS)) return;
    // Something outside the group still holds the output pipes open: clean up without it.
    await Promise.all([...this.running.values()].map((task) => task.finish(null)));
  }
}

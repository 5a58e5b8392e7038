import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audit } from '#shared/audit/audit.ts';
import { revokeLaunch } from '#shared/launch/records.ts';
import type { RunRequest, TaskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';

const KEYFLEET_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'keyfleet.mjs');

export interface LocalTaskResult {
  exitCode: number;
  output: string;
  home: string;
}

/**
 * Local mode's stand-in for ECS: runs `ecs.command` under `keyfleet exec` in a private temporary
 * HOME, with exactly what RunTask would carry (the ticket, Keyfleet's URL, the caller's variables)
 * plus PATH. Output goes to `<dataDir>/tasks/<launch>.log`; when the process ends its task token is
 * revoked, as the STOPPED rule does in the cloud.
 */
export class LocalTaskRunner implements TaskRunner {
  readonly kind = 'local' as const;
  private readonly finished = new Map<string, Promise<LocalTaskResult>>();

  constructor(private readonly options: { logDir?: string; keepHome?: boolean } = {}) {}

  run = async (request: RunRequest): Promise<string> => {
    const home = await mkdtemp(join(tmpdir(), `keyfleet-task-${request.launchId}-`));
    const work = join(home, 'work');
    await mkdir(work, { recursive: true, mode: 0o700 });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      KEYFLEET_TICKET: request.ticket,
      KEYFLEET_URL: request.apiUrl,
      ...request.ecs.environment,
    };
    const child = spawn(process.execPath, [KEYFLEET_BIN, 'exec', '--', ...(request.ecs.command ?? [])], {
      env,
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const log = this.options.logDir
      ? createWriteStream(join(this.options.logDir, `${request.launchId}.log`), { mode: 0o600 })
      : undefined;
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        log?.write(chunk);
      });
    }
    this.finished.set(
      request.launchId,
      new Promise<LocalTaskResult>((resolve) => {
        child.on('close', async (code) => {
          log?.end();
          try {
            await revokeLaunch(request.launchId);
            await audit({
              actor: 'local-runner',
              action: 'launch.stopped',
              detail: { launchId: request.launchId, exitCode: code },
            });
          } catch (error) {
            logger.error('local task cleanup failed', { launchId: request.launchId, error });
          }
          if (!this.options.keepHome) await rm(home, { recursive: true, force: true });
          resolve({ exitCode: code ?? 1, output, home });
        });
      }),
    );
    return `local:task/${request.launchId}`;
  };

  /** Resolves when the launch's process has ended and its token is revoked. */
  wait(launchId: string): Promise<LocalTaskResult> {
    const found = this.finished.get(launchId);
    if (!found) return Promise.reject(new Error(`no local task for ${launchId}`));
    return found;
  }
}

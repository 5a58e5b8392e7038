import { type ChildProcess, spawn } from 'node:child_process';

export interface SpawnedLocalMode {
  url: string;
  adminToken: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGTERM by default) and waits for the process to end. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function localModeProcess(env: Record<string, string>): ChildProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, KEYFLEET_PORT: '0', ...env };
  for (const name of [
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'KEYFLEET_TABLE_NAME',
    'KEYFLEET_API_URL',
  ]) {
    if (!(name in env)) delete childEnv[name];
  }
  return spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], { env: childEnv, stdio: 'pipe' });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Runs local mode (`infra/local/main.ts`, what `npm start` runs) as a child process and waits
 * for it to print its URL and admin token.
 */
export async function spawnLocalMode(env: Record<string, string>): Promise<SpawnedLocalMode> {
  const child = localModeProcess(env);
  const exited = exitOf(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const token = /Admin token: (\S+)/.exec(output)?.[1];
    if (url && token) {
      return {
        url,
        adminToken: token,
        child,
        output: () => output,
        exited,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      };
    }
    if (child.exitCode !== null) throw new Error(`local mode exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`local mode did not start in time:\n${output}`);
}

/** Runs local mode expecting it to refuse to start: its exit code, stdout and stderr. */
export async function localModeRefusal(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = localModeProcess(env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const { code } = await exitOf(child);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

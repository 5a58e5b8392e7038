import { type ChildProcess, spawn } from 'node:child_process';

export interface SpawnedLocalMode {
  url: string;
  adminToken: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Runs local mode (`infra/local/main.ts`, what `npm start` runs) as a child process and waits
 * for it to print its URL and admin token.
 */
export async function spawnLocalMode(env: Record<string, string>): Promise<SpawnedLocalMode> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, KEYFLEET_PORT: '0', ...env };
  for (const name of [
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'KEYFLEET_TABLE_NAME',
    'KEYFLEET_API_URL',
  ]) {
    if (!(name in env)) delete childEnv[name];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], { env: childEnv, stdio: 'pipe' });
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
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    if (child.exitCode !== null) throw new Error(`local mode exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`local mode did not start in time:\n${output}`);
}

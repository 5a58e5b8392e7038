import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorHelp } from '#shared/operator/run.ts';
import { startTestApi, type TestApi, TOKENS } from '#test/helpers/api.ts';

const CONTAINER_USAGE = `usage:
  keyfleet exec -- <agent command> [args…]   redeem KEYFLEET_TICKET and run the agent with its credentials
  keyfleet token <provider>                  print the task's current access token as JSON
  keyfleet proxy [--port <n>] [--health]     the credential proxy sidecar (delivery "proxy")
  keyfleet --help                            show this help`;
const USAGE = `${CONTAINER_USAGE}\n\n${operatorHelp()}\n`;

function keyfleet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, ['bin/keyfleet.mjs', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('keyfleet', () => {
  it('regression: keyfleet --help prints the usage to stdout and exits 0 instead of 2', () => {
    expect(keyfleet('--help')).toEqual({ status: 0, stdout: USAGE, stderr: '' });
  });

  it('lists the container and the operator commands in the help', () => {
    const { stdout } = keyfleet('help');
    for (const command of [
      'exec --',
      'token <provider>',
      'providers',
      'login',
      'add-key',
      'launch',
      'sync',
      'me <command>',
    ])
      expect(stdout).toContain(`keyfleet ${command}`);
    expect(keyfleet('-h').status).toBe(0);
  });

  it('runs the proxy sidecar command: a health check of a port where nothing listens fails', () => {
    const out = keyfleet('proxy', '--health', '--port', '9');
    expect(out.status).not.toBe(0);
    expect(keyfleet('proxy', '--bogus').status).toBe(2);
  });

  it('answers a usage error with the usage on stderr and exit code 2', () => {
    expect(keyfleet()).toEqual({ status: 2, stdout: '', stderr: USAGE });
    expect(keyfleet('token')).toEqual({
      status: 2,
      stdout: '',
      stderr: `keyfleet: unknown command "token"\n\n${USAGE}`,
    });
    expect(keyfleet('launch')).toMatchObject({ status: 2, stdout: '' });
    expect(keyfleet('launch').stderr).toContain('usage: keyfleet launch <provider>');
  });
});

describe('keyfleet operator commands as a real process', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api.stop());

  /** Runs the bin asynchronously: the API answers from this same process, so nothing may block it. */
  async function run(args: string[], token: string, input = '') {
    const child = spawn(process.execPath, ['bin/keyfleet.mjs', ...args], {
      env: { PATH: process.env.PATH, KEYFLEET_URL: api.base, KEYFLEET_TOKEN: token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stdout, stderr };
  }

  it('reads the key from a pipe and prints the account as JSON, without the key', async () => {
    const key = 'sk-piped-through-stdin-5678';
    const out = await run(['add-key', 'gemini', '--label', 'Piped', '--json'], TOKENS.admin, `${key}\n`);
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(out.stdout).account).toMatchObject({ provider: 'gemini', kind: 'api_key', keyHint: '…5678' });
    expect(out.stdout).not.toContain(key);
  });

  it('exits 1 with the API message when the API refuses', async () => {
    const out = await run(['settings', '--default-agent', 'grok'], TOKENS.alice);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^keyfleet: forbidden: /);
  });
});

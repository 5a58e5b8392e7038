import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const USAGE = `usage:
  keyfleet exec -- <agent command> [args…]   redeem KEYFLEET_TICKET and run the agent with its credentials
  keyfleet token <provider>                  print the task's current access token as JSON
  keyfleet --help                            show this help
`;

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

  it('prints the usage for -h and help too', () => {
    expect(keyfleet('-h').status).toBe(0);
    expect(keyfleet('help')).toEqual({ status: 0, stdout: USAGE, stderr: '' });
  });

  it('answers a usage error with the usage on stderr and exit code 2', () => {
    expect(keyfleet('launch')).toEqual({ status: 2, stdout: '', stderr: USAGE });
    expect(keyfleet()).toEqual({ status: 2, stdout: '', stderr: USAGE });
    expect(keyfleet('token')).toEqual({ status: 2, stdout: '', stderr: USAGE });
  });
});

import { exec, token } from '#shared/cli/exec.ts';

const USAGE = `usage:
  keyfleet exec -- <agent command> [args…]   redeem KEYFLEET_TICKET and run the agent with its credentials
  keyfleet token <provider>                  print the task's current access token as JSON
  keyfleet --help                            show this help`;

const HELP = new Set(['--help', '-h', 'help']);

/** The `keyfleet` command inside agent containers. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'exec') {
    const separator = rest.indexOf('--');
    return exec(separator >= 0 ? rest.slice(separator + 1) : rest);
  }
  if (command === 'token' && rest[0]) {
    process.stdout.write(`${await token(rest[0])}\n`);
    return 0;
  }
  if (command !== undefined && HELP.has(command)) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);

import { exec, token } from '#shared/cli/exec.ts';

const CONTAINER_USAGE = `usage:
  keyfleet exec -- <agent command> [args…]   redeem KEYFLEET_TICKET and run the agent with its credentials
  keyfleet token <provider>                  print the task's current access token as JSON
  keyfleet proxy [--port <n>] [--health]     the credential proxy sidecar (delivery "proxy")
  keyfleet --help                            show this help`;

const HELP = new Set(['--help', '-h', 'help']);

/**
 * The `keyfleet` command: the container side (`exec`, `token`) inside agent tasks, and the
 * operator commands (`providers`, `login`, `launch`, …) on workstations and in CI.
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'exec') {
    const separator = rest.indexOf('--');
    return exec(separator >= 0 ? rest.slice(separator + 1) : rest);
  }
  if (command === 'proxy') {
    // Loaded only for the sidecar, which needs nothing else of this bin.
    const { runProxyCommand } = await import('#shared/proxy/command.ts');
    return runProxyCommand(rest);
  }
  if (command === 'token' && rest[0]) {
    process.stdout.write(`${await token(rest[0])}\n`);
    return 0;
  }
  // The operator commands are loaded only when used: containers run exec and token.
  const { isOperatorCommand, operatorHelp, runOperator } = await import('#shared/operator/run.ts');
  if (isOperatorCommand(command)) {
    return runOperator(argv, {
      env: process.env,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  }
  const usage = `${CONTAINER_USAGE}\n\n${operatorHelp()}\n`;
  if (command !== undefined && HELP.has(command)) {
    process.stdout.write(usage);
    return 0;
  }
  process.stderr.write(
    command === undefined ? usage : `keyfleet: unknown command "${command.slice(0, 30)}"\n\n${usage}`,
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);

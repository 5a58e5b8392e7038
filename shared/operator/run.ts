import { parseArgs } from 'node:util';
import { accountCommands } from '#shared/operator/accounts.ts';
import { ApiError, clientFromEnv, UsageError } from '#shared/operator/client.ts';
import type { Command, Context } from '#shared/operator/command.ts';
import { consoleCommand } from '#shared/operator/console.ts';
import { type OperatorIo, Prompter } from '#shared/operator/io.ts';
import { launchCommands } from '#shared/operator/launches.ts';
import { syncCommand } from '#shared/operator/sync.ts';
import { teamCommands } from '#shared/operator/team.ts';

/** Every operator command, in the order `keyfleet --help` lists them. */
export const operatorCommands: Command[] = [
  ...accountCommands,
  ...teamCommands,
  ...launchCommands,
  syncCommand,
  consoleCommand,
];

const byName = new Map(operatorCommands.map((c) => [c.name, c]));

/** True when `keyfleet <name>` is an operator command (as opposed to `exec`/`token`). */
export function isOperatorCommand(name: string | undefined): boolean {
  return name === 'me' || (name !== undefined && byName.has(name));
}

const ENVIRONMENT_HELP = `Environment:
  KEYFLEET_URL    the Keyfleet API (local mode: the URL npm start prints)
  KEYFLEET_TOKEN  a bearer token (local mode)
  KEYFLEET_JWT    a JWT for stacks deployed with the JWT authorizer
  otherwise       SigV4 with the standard AWS credential chain (IAM-auth stacks; AWS_REGION or an
                  execute-api URL names the region). KEYFLEET_AUTH=bearer|jwt|iam chooses explicitly.
Exit codes: 0 ok, 1 the API refused or failed (its message is printed), 2 usage error.`;

/** The operator part of `keyfleet --help`. */
export function operatorHelp(): string {
  const width = Math.max(...operatorCommands.map((c) => c.name.length)) + 2;
  const lines = operatorCommands.map((c) => `  keyfleet ${c.name.padEnd(width)}${c.summary}`);
  return `Operator commands (\`keyfleet <command> --help\` for each):
${lines.join('\n')}
  keyfleet ${'me <command>'.padEnd(width)}the same on your own accounts: ${operatorCommands
    .filter((c) => c.personal)
    .map((c) => c.name)
    .join(', ')}; and \`me preferences\`
Read commands take --json and print the API's own objects.

${ENVIRONMENT_HELP}`;
}

function commandHelp(command: Command, personal: boolean): string {
  const flags = command.read ? ' [--json]' : '';
  return `usage: keyfleet ${personal ? 'me ' : ''}${command.name} ${command.args}${flags}\n\n${command.summary}.\n${
    command.details ? `\n${command.details}\n` : ''
  }\n${ENVIRONMENT_HELP}\n`;
}

function parse(command: Command, args: string[]): { positionals: string[]; values: Context['values'] } {
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    return { positionals, values };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Finds the command, handling `me <command>` and `me preferences`. */
function locate(argv: string[]): { command: Command; personal: boolean; args: string[] } {
  const [first, ...rest] = argv;
  if (first === 'me') {
    const [name, ...args] = rest;
    const command = name === undefined ? undefined : byName.get(name);
    if (!command || (!command.personal && command.name !== 'preferences'))
      throw new UsageError(
        `"keyfleet me" takes one of: ${operatorCommands
          .filter((c) => c.personal)
          .map((c) => c.name)
          .join(', ')}, preferences`,
      );
    return { command, personal: true, args };
  }
  const command = first === undefined ? undefined : byName.get(first);
  if (!command) throw new UsageError(`unknown command "${(first ?? '').slice(0, 30)}"; see keyfleet --help`);
  return { command, personal: command.name === 'preferences', args: rest };
}

/**
 * Runs one operator command and answers its exit code: 0 ok, 1 the API refused or failed (its
 * message on stderr), 2 a usage error. Nothing secret is ever printed: keys are read from stdin
 * and the API never answers with one.
 */
export async function runOperator(argv: string[], io: OperatorIo): Promise<number> {
  let located: ReturnType<typeof locate> | undefined;
  try {
    located = locate(argv);
    const { command, personal, args } = located;
    const { positionals, values } = parse(command, args);
    if (values.help) {
      io.stdout.write(commandHelp(command, personal));
      return 0;
    }
    const ctx: Context = {
      client: clientFromEnv(io.env),
      io,
      prompter: new Prompter(io),
      personal,
      json: values.json === true,
      positionals,
      values,
    };
    const code = await command.run(ctx);
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`keyfleet: ${error.message}\n`);
      if (located)
        io.stderr.write(
          `usage: keyfleet ${located.personal ? 'me ' : ''}${located.command.name} ${located.command.args}\n`,
        );
      return 2;
    }
    if (error instanceof ApiError) {
      io.stderr.write(`keyfleet: ${error.code}: ${error.message}\n`);
      return 1;
    }
    io.stderr.write(`keyfleet: ${(error as Error).message}\n`);
    return 1;
  }
}

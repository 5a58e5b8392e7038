import { type LocalMode, LocalStartError, startLocalMode } from '#infra/local/start.ts';
import { ConfigProblems } from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';

/** What `npm start` prints when local mode cannot start: the reason, without a stack trace. */
function startFailure(error: unknown): string {
  if (error instanceof ConfigProblems) {
    return `keyfleet: the configuration is invalid:\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n`;
  }
  if (error instanceof LocalStartError || error instanceof ConfigError) return `keyfleet: ${error.message}\n`;
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return `keyfleet: local mode did not start: ${name}: ${message}\n`;
}

// Whoever reads our output may be gone (a closed terminal, a dead pipe): stopping must still run.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

let local: LocalMode;
try {
  local = await startLocalMode();
} catch (error) {
  process.stderr.write(startFailure(error));
  process.exit(1);
}

process.stdout.write(
  [
    '',
    `Keyfleet local mode is listening on ${local.url}`,
    `Console: ${local.url}/ (open it and paste the admin token)`,
    `Admin token: ${local.adminToken}`,
    `Try: curl -s -H "Authorization: Bearer ${local.adminToken}" ${local.url}/v1/providers`,
    `Data is kept under ${local.dataDir} (delete it to start over). Ctrl-C stops.`,
    '',
  ].join('\n'),
);

// Stops in order (tasks, their launches and HOMEs, the API, the endpoints, the lock), then exits.
// A second signal does not wait.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      process.stderr.write('keyfleet: stopping without cleaning up\n');
      process.exit(1);
    }
    stopping = true;
    const tasks = local.runner.runningLaunches().length;
    if (tasks > 0) process.stderr.write(`keyfleet: stopping ${tasks} running task(s)\n`);
    local.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`keyfleet: stopping failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}

import { runProxyCommand } from '#shared/proxy/command.ts';

// Entry for running the proxy on its own (`tsx shared/proxy/main.ts`), until `keyfleet proxy` calls runProxyCommand.
runProxyCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keyfleet proxy: ${(error as Error).name}\n`);
    process.exit(1);
  },
);

import { runProxyCommand } from '#shared/proxy/command.ts';

// The proxy on its own, without the rest of the keyfleet bin: the sidecar image can run this bundle
// (`keyfleet proxy` runs the same command); the tests and the bench start it this way.
runProxyCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keyfleet proxy: ${(error as Error).name}\n`);
    process.exit(1);
  },
);

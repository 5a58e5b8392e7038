import { startLocalMode } from '#infra/local/start.ts';

/** `npm start`: local mode in the foreground until Ctrl-C. */
const local = await startLocalMode();
process.stdout.write(
  [
    '',
    `Keyfleet local mode is listening on ${local.url}`,
    `Admin token: ${local.adminToken}`,
    `Try: curl -s -H "Authorization: Bearer ${local.adminToken}" ${local.url}/v1/providers`,
    'Data is kept under .keyfleet/ (delete it to start over). Ctrl-C stops.',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void local.stop().then(() => process.exit(0));
  });
}

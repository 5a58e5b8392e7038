/**
 * `npm run bench`: throughput of Keyfleet's hot paths against the embedded endpoints, each
 * reported as a ratio to a baseline measured in the same run (one plain DynamoDB GetItem through
 * the same SDK client), so figures compare across machines.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { createKeyAccount } from '#shared/accounts/service.ts';
import { nextCursor, setActiveAccount } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { launchTask } from '#shared/launch/launch.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { createSecret, readSecret, secretName } from '#shared/vault/vault.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { startLocalAws } from '#test/helpers/local-aws.ts';

// Every launch and redemption writes an audit line; hundreds of them would bury the table.
logger.setLogLevel('SILENT');

interface Result {
  name: string;
  opsPerSecond: number;
}

async function measure(name: string, total: number, concurrency: number, op: () => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < Math.min(50, total); i++) await op();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        await op();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { name, opsPerSecond: total / seconds };
}

const aws = await startLocalAws({ KEYFLEET_API_URL: 'http://127.0.0.1:9' });
const pool = [
  await seedAccount('claude', { roundRobin: true }),
  await seedAccount('claude', { roundRobin: true }),
  await seedAccount('claude', { roundRobin: true }),
];
const probe = pool[0] ?? (undefined as never);
const name = secretName('claude', probe.id);
await createSecret(name, { access_token: 'bench-access-token-000000' });

const N = Number(process.env.BENCH_N ?? 1000);
const results: Result[] = [];
const baseline = await measure('baseline: GetItem (1 account item), sequential', N, 1, () =>
  documentClient().send(new GetCommand({ TableName: config().tableName, Key: accountKey('claude', probe.id) })),
);
results.push(baseline);
results.push(
  await measure('resolveAccount, round-robin pool of 3, sequential', N, 1, () =>
    resolveAccount({ provider: 'claude' }),
  ),
);
results.push(
  await measure('resolveAccount, round-robin pool of 3, 32 concurrent', N, 32, () =>
    resolveAccount({ provider: 'claude' }),
  ),
);
results.push(await measure('cursor ADD only, 32 concurrent', N, 32, () => nextCursor('claude')));
results.push(await measure('vault read (GetSecretValue), sequential', N, 1, () => readSecret(name)));

// The launch path end to end, with ECS replaced by a runner that only remembers the ticket.
const tickets: string[] = [];
setTaskRunner({
  kind: 'local',
  run: async (request) => {
    tickets.push(request.ticket);
    return `bench:task/${request.launchId}`;
  },
});
const { account: keyAccount } = await createKeyAccount({
  provider: 'gemini',
  scope: { owner: null },
  kind: 'api_key',
  label: 'bench',
  apiKey: 'AIza-bench-key-0000000000',
  endpoint: undefined,
  actor: 'bench',
});
await setActiveAccount('gemini', null, keyAccount.id);
const launchBody = { provider: 'gemini' as const, maxDurationMinutes: 60, ecs: { command: ['true'] } };
const caller = { id: 'bench', role: 'member' as const };
const L = Math.min(N, 300);
results.push(
  await measure(`launch (resolve, ticket, run, audit), ${L} sequential`, L, 1, () => launchTask(caller, launchBody)),
);
const redeemRoute = containerRoutes.find((r) => r.path === '/v1/tickets/redeem');
let next = 0;
// measure() warms up with min(50, total) operations first, and each redemption spends a ticket.
const R = Math.min(L, tickets.length - Math.min(50, Math.floor(tickets.length / 2)));
results.push(
  await measure(`ticket redemption + CLI profile, ${R} sequential`, R, 1, () => {
    const ticket = tickets[next++];
    return (
      redeemRoute?.handler({
        method: 'POST',
        path: '',
        params: {},
        query: {},
        headers: {},
        body: { ticket },
        caller: null,
      }) ?? Promise.resolve()
    );
  }),
);

console.log(`\nKeyfleet bench — ${N} operations each, node ${process.version}, embedded endpoints on loopback\n`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(58)} ${r.opsPerSecond.toFixed(0).padStart(7)} ops/s  ×${(r.opsPerSecond / baseline.opsPerSecond).toFixed(2)}`,
  );
}
await aws.stop();

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { setActiveAccount } from '#shared/accounts/active.ts';
import type { Account } from '#shared/accounts/model.ts';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { createKeyAccount } from '#shared/accounts/service.ts';
import { deleteAccount } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { refreshInProcess } from '#shared/launch/freshen.ts';
import { launchTask } from '#shared/launch/launch.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { createSecret } from '#shared/vault/vault.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type CallCounts, type CountingProxy, totalCalls } from './counting-proxy.ts';
import { atLeast, atMost, type Figure, interleaved, summarize } from './stats.ts';
import type { TokenEndpoint } from './token-endpoint.ts';

const HOUR = 3_600_000;
const caller = { id: 'bench', role: 'member' as const };
const launchBody = (provider: 'claude' | 'gemini') => ({
  provider,
  maxDurationMinutes: 60,
  ecs: { command: ['true'] },
});

/** A connected OAuth account whose vault holds tokens valid for `validMs`, refreshed just now. */
export async function seedOAuthAccount(
  tokens: TokenEndpoint,
  overrides: Partial<Account>,
  validMs: number,
): Promise<Account> {
  const now = Date.now();
  const account = await seedAccount('claude', {
    tokenExpiresAt: new Date(now + validMs).toISOString(),
    lastRefreshAt: new Date(now).toISOString(),
    ...overrides,
  });
  await createSecret(account.secretName as string, {
    access_token: `bench-access-${account.id}`,
    refresh_token: tokens.issue(),
    token_type: 'Bearer',
    expires_at: now + validMs,
  });
  return account;
}

export interface World {
  pool: Account[];
  tickets: { oauth: string[]; key: string[] };
  runTasks: () => number;
}

/** Seven Claude accounts in the round-robin pool, a Gemini API-key account, ECS as a stand-in that keeps tickets. */
export async function buildWorld(tokens: TokenEndpoint): Promise<World> {
  const pool: Account[] = [];
  for (let i = 0; i < 7; i++) pool.push(await seedOAuthAccount(tokens, { roundRobin: true }, 12 * HOUR));
  const tickets = { oauth: [] as string[], key: [] as string[] };
  let runs = 0;
  refreshInProcess(refreshAccount);
  setTaskRunner({
    kind: 'local',
    run: async (request) => {
      runs += 1;
      (request.provider === 'gemini' ? tickets.key : tickets.oauth).push(request.ticket);
      return `bench:task/${request.launchId}`;
    },
  });
  const { account } = await createKeyAccount({
    provider: 'gemini',
    scope: { owner: null },
    kind: 'api_key',
    label: 'bench',
    apiKey: 'AIza-bench-key-0000000000',
    endpoint: undefined,
    actor: 'bench',
  });
  await setActiveAccount({ provider: 'gemini', owner: null, accountId: account.id });
  return { pool, tickets, runTasks: () => runs };
}

const redeemRoute = () => {
  const route = containerRoutes.find((r) => r.path === '/v1/tickets/redeem');
  if (!route) throw new Error('no ticket redemption route');
  return route;
};

async function redeem(ticket: string | undefined): Promise<void> {
  if (!ticket) throw new Error('the bench ran out of tickets');
  await redeemRoute().handler({
    method: 'POST',
    path: '',
    params: {},
    query: {},
    headers: {},
    body: { ticket },
    caller: null,
  });
}

/** AWS calls of one `op` (after a warm-up), `runs` times: totals and the breakdown of the last. */
async function callsOf(
  proxy: CountingProxy,
  runs: number,
  op: () => Promise<unknown>,
): Promise<{ totals: number[]; last: CallCounts }> {
  await op();
  const totals: number[] = [];
  let last: CallCounts = {};
  for (let i = 0; i < runs; i++) {
    proxy.reset();
    await op();
    last = proxy.counts();
    totals.push(totalCalls(last));
  }
  return { totals, last };
}

const breakdown = (counts: CallCounts) =>
  Object.entries(counts)
    .sort()
    .map(([k, n]) => `${k.replace(/^dynamodb\./, '').replace(/^secrets\./, 'SM ')} ${n}`)
    .join(', ');

/** AWS calls per launch, redemption and refresh, counted at the endpoints by operation. */
export async function benchCalls(
  proxy: CountingProxy,
  world: World,
  tokens: TokenEndpoint,
  runs: number,
): Promise<Figure[]> {
  const section = 'AWS calls (at the endpoint)';
  const figure = (name: string, { totals, last }: { totals: number[]; last: CallCounts }, limit: number, extra = '') =>
    atMost({ section, name, unit: 'calls', value: summarize(totals), note: `${breakdown(last)}${extra}` }, limit);
  const oauthLaunch = await callsOf(proxy, runs, () => launchTask(caller, launchBody('claude')));
  const keyLaunch = await callsOf(proxy, runs, () => launchTask(caller, launchBody('gemini')));
  const oauthRedeem = await callsOf(proxy, runs, () => redeem(world.tickets.oauth.shift()));
  const keyRedeem = await callsOf(proxy, runs, () => redeem(world.tickets.key.shift()));
  const account = await seedOAuthAccount(tokens, { label: 'bench refresh' }, HOUR / 4);
  const before = tokens.refreshes();
  const refresh = await callsOf(proxy, runs, async () => {
    const outcome = await refreshAccount({ provider: 'claude', accountId: account.id, force: true });
    if (outcome.result !== 'ok' || !outcome.refreshed) throw new Error('the bench refresh did not refresh');
  });
  if (tokens.refreshes() - before !== runs + 1)
    throw new Error('the token endpoint saw a different number of refreshes');
  // Its tokens now expire within Claude's lead time: the sweep bench must find only its own.
  await deleteAccount('claude', account.id);
  return [
    figure(
      'per launch, OAuth pool (plus RunTask)',
      oauthLaunch,
      4,
      '; the fifth is the round-robin cursor step, an atomic ADD no batch can carry',
    ),
    figure('per launch, API-key account (plus RunTask)', keyLaunch, 4),
    figure('per ticket redemption, OAuth (incl. vault read)', oauthRedeem, 4),
    figure('per ticket redemption, API key (incl. vault read)', keyRedeem, 4),
    figure('per account refresh (incl. vault read and write)', refresh, 4),
  ];
}

/** Launch latency against one GetItem through the same client and server, interleaved. */
export async function benchLatency(world: World, runs: number, perRun: number): Promise<Figure[]> {
  const probe = world.pool[0] as Account;
  const getItem = () =>
    documentClient().send(new GetCommand({ TableName: config().tableName, Key: accountKey('claude', probe.id) }));
  const timed = (op: () => Promise<unknown>) => async () => {
    const started = performance.now();
    for (let i = 0; i < perRun; i++) await op();
    return (performance.now() - started) / perRun;
  };
  await timed(getItem)();
  await timed(() => launchTask(caller, launchBody('claude')))();
  const result = await interleaved(
    runs,
    timed(() => launchTask(caller, launchBody('claude'))),
    timed(getItem),
  );
  const section = 'launch latency';
  return [
    {
      section,
      name: `launch, OAuth pool (mean of ${perRun} sequential)`,
      unit: 'ms',
      value: summarize(result.subject),
    },
    {
      section,
      name: `GetItem, same client and server (mean of ${perRun})`,
      unit: 'ms',
      value: summarize(result.baseline),
    },
    atMost(
      {
        section,
        name: 'launch / GetItem',
        unit: '×',
        value: summarize(result.ratio),
        note: '4 round trips: batch read beside the Query, cursor step, batch write, task ARN (RunTask stubbed)',
      },
      5,
    ),
  ];
}

/** 1,000 launch resolutions at once over the 7-account pool: rate and spread. */
export async function benchRoundRobin(world: World, runs: number, total = 1000): Promise<Figure[]> {
  const rates: number[] = [];
  const spreads: number[] = [];
  // A thousand at once queue for the SDK's 50 sockets, which it reports on the console; a Lambda
  // serves one launch at a time and never does. That line is not the bench's result.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('socket usage at capacity')) warn(...args);
  };
  try {
    await resolveMany(world, runs, total, rates, spreads);
  } finally {
    console.warn = warn;
  }
  const section = `round robin (${total.toLocaleString('en')} at once, 7 accounts)`;
  return [
    atLeast(
      {
        section,
        name: 'resolutions per second',
        unit: '/s',
        value: summarize(rates),
        note: 'target: the stage throttle (50/s)',
      },
      50,
    ),
    atMost({ section, name: 'spread (most − fewest per account)', unit: 'launches', value: summarize(spreads) }, 1),
  ];
}

async function resolveMany(
  world: World,
  runs: number,
  total: number,
  rates: number[],
  spreads: number[],
): Promise<void> {
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const chosen = await Promise.all(Array.from({ length: total }, () => resolveAccount({ provider: 'claude' })));
    rates.push(total / ((performance.now() - started) / 1000));
    const perAccount = new Map(world.pool.map((a) => [a.id, 0]));
    for (const { account } of chosen) perAccount.set(account.id, (perAccount.get(account.id) ?? 0) + 1);
    spreads.push(Math.max(...perAccount.values()) - Math.min(...perAccount.values()));
  }
}

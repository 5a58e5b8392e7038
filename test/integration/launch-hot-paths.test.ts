import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setActiveAccount } from '#shared/accounts/active.ts';
import type { Account } from '#shared/accounts/model.ts';
import { listAudit } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { issueGrant } from '#shared/launch/grants.ts';
import { hashOf } from '#shared/launch/hash.ts';
import { launchTask } from '#shared/launch/launch.ts';
import { getLaunch, updateLaunch } from '#shared/launch/records.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { TICKET_TTL_MS } from '#shared/launch/tickets.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { taskTokenKey, ticketKey } from '#shared/store/keys.ts';
import { createSecret } from '#shared/vault/vault.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

/**
 * The launch and redemption paths at their call budgets (issue 17), counted where the calls
 * arrive: a loopback proxy in front of the embedded DynamoDB and the Secrets Manager endpoint.
 * The DynamoDB proxy can also answer one BatchWriteItem as a throttled table does — part of the
 * batch written, the rest handed back as UnprocessedItems — which dynalite itself never does.
 */

interface Proxy {
  endpoint: string;
  counts: Record<string, number>;
  /** The next BatchWriteItem writes only its last item and answers the others as unprocessed. */
  throttleNextBatch: () => void;
  /** The next `count` BatchWriteItems write nothing and answer every item as unprocessed. */
  refuseBatches: (count: number) => void;
  close: () => Promise<void>;
}

/** Forwards the request with `body`, and answers with what `reshape` makes of the upstream's answer. */
function forward(
  upstream: URL,
  incoming: { method?: string; url?: string; headers: Record<string, unknown> },
  body: string,
  reshape: (answer: string) => string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...incoming.headers, 'content-length': String(Buffer.byteLength(body)) };
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const text = reshape(Buffer.concat(chunks).toString('utf8'));
          // The answer was rewritten: its checksum no longer applies.
          const {
            'x-amz-crc32': _crc,
            'content-length': _length,
            'transfer-encoding': _chunked,
            ...rest
          } = answer.headers;
          resolve({ status: answer.statusCode ?? 502, headers: rest, body: text });
        });
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

async function startProxy(service: string, upstreamUrl: string, counts: Record<string, number>): Promise<Proxy> {
  const upstream = new URL(upstreamUrl);
  let throttle = false;
  let refuse = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const operation =
        String(req.headers['x-amz-target'] ?? 'unknown')
          .split('.')
          .pop() ?? 'unknown';
      counts[`${service}.${operation}`] = (counts[`${service}.${operation}`] ?? 0) + 1;
      let body = Buffer.concat(chunks).toString('utf8');
      let reshape = (answer: string) => answer;
      if (operation === 'BatchWriteItem' && refuse > 0) {
        refuse -= 1;
        const input = JSON.parse(body) as { RequestItems: Record<string, unknown[]> };
        const answer = JSON.stringify({ UnprocessedItems: input.RequestItems });
        res.writeHead(200, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(answer),
        });
        res.end(answer);
        return;
      }
      if (operation === 'BatchWriteItem' && throttle) {
        throttle = false;
        const input = JSON.parse(body) as { RequestItems: Record<string, unknown[]> };
        const [table, requests] = Object.entries(input.RequestItems)[0] as [string, unknown[]];
        body = JSON.stringify({ ...input, RequestItems: { [table]: requests.slice(-1) } });
        reshape = (answer) =>
          JSON.stringify({ ...JSON.parse(answer), UnprocessedItems: { [table]: requests.slice(0, -1) } });
      }
      const answer = await forward(upstream, req, body, reshape);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) } as never);
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    throttleNextBatch: () => {
      throttle = true;
    },
    refuseBatches: (count) => {
      refuse = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let aws: LocalAws;
let dynamo: Proxy;
let secrets: Proxy;
const counts: Record<string, number> = {};
const tickets: string[] = [];
const caller = { id: 'hot-paths', role: 'member' as const };
const HOUR = 3_600_000;

beforeAll(async () => {
  aws = await startLocalAws({ KEYFLEET_API_URL: 'http://127.0.0.1:9' });
  dynamo = await startProxy('dynamodb', aws.dynamoEndpoint, counts);
  secrets = await startProxy('secrets', aws.secrets.endpoint, counts);
  // Before the code under test makes its clients.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
  setTaskRunner({
    kind: 'local',
    deliveries: ['ticket', 'proxy'],
    run: async (run) => {
      tickets.push(run.ticket);
      return `test:task/${run.launchId}`;
    },
  });
});
afterAll(async () => {
  await dynamo.close();
  await secrets.close();
  await aws.stop();
});

function resetCounts(): void {
  for (const key of Object.keys(counts)) delete counts[key];
}

/** A Claude OAuth account in the round-robin pool whose vault tokens are good for `validMs`. */
async function poolAccount(validMs = 12 * HOUR): Promise<Account> {
  const expires = Date.now() + validMs;
  const account = await seedAccount('claude', { roundRobin: true, tokenExpiresAt: new Date(expires).toISOString() });
  await createSecret(account.secretName as string, {
    access_token: `hot-access-${account.id}`,
    refresh_token: `hot-refresh-${account.id}`,
    token_type: 'Bearer',
    expires_at: expires,
  });
  return account;
}

const launchBody = (provider: 'claude' | 'gemini') => ({
  provider,
  maxDurationMinutes: 60,
  ecs: { command: ['true'] },
});

async function call(path: string, body: unknown, headers: Record<string, string> = {}) {
  const route = containerRoutes.find((r) => r.path === path && r.method === 'POST');
  if (!route) throw new Error(`no route ${path}`);
  return route.handler({ method: 'POST', path, params: {}, query: {}, headers, body, caller: null });
}

const redeem = (ticket: string) => call('/v1/tickets/redeem', { ticket });

const readItem = async (key: { pk: string; sk: string }) =>
  (await documentClient().send(new GetCommand({ TableName: config().tableName, Key: key, ConsistentRead: true }))).Item;

describe('call budgets, counted at the endpoints', () => {
  // Each test: one pooled Claude account and Gemini's active API key, in an otherwise empty table.
  beforeEach(async () => {
    await poolAccount();
    const key = await seedAccount('gemini', { kind: 'api_key' });
    await createSecret(key.secretName as string, { api_key: 'AIza-hot-paths-key-0000000000' });
    await setActiveAccount({ provider: 'gemini', owner: null, accountId: key.id });
    resetCounts();
  });

  it('launches on the OAuth pool with one batch read, one Query, the cursor step, one batch write and the task ARN', async () => {
    await launchTask(caller, launchBody('claude'));
    expect(counts).toEqual({
      'dynamodb.BatchGetItem': 1,
      'dynamodb.Query': 1,
      'dynamodb.UpdateItem': 2,
      'dynamodb.BatchWriteItem': 1,
    });
  });

  it('launches on an API-key account in four calls', async () => {
    await launchTask(caller, launchBody('gemini'));
    expect(counts).toEqual({
      'dynamodb.BatchGetItem': 1,
      'dynamodb.Query': 1,
      'dynamodb.UpdateItem': 1,
      'dynamodb.BatchWriteItem': 1,
    });
  });

  it.each(['claude', 'gemini'] as const)(
    'redeems a %s ticket in five calls over three round trips: the vault read and a fresh account read included',
    async (provider) => {
      await launchTask(caller, launchBody(provider));
      const ticket = tickets.at(-1) as string;
      resetCounts();
      const answer = await redeem(ticket);
      expect(answer.status).toBe(200);
      expect(counts).toEqual({
        'dynamodb.UpdateItem': 2,
        'dynamodb.GetItem': 1,
        'dynamodb.BatchWriteItem': 1,
        'secrets.GetSecretValue': 1,
      });
    },
  );
});

describe('a workstation grant', () => {
  it('is issued with one preferences read, one Query, the cursor step and one batch write', async () => {
    await poolAccount();
    resetCounts();
    const { grant } = await issueGrant(caller, { provider: 'claude', hours: 8 });
    expect(grant.provider).toBe('claude');
    expect(counts).toEqual({
      'dynamodb.GetItem': 1,
      'dynamodb.Query': 1,
      'dynamodb.UpdateItem': 1,
      'dynamodb.BatchWriteItem': 1,
    });
  });
});

describe('a proxy’s usage report', () => {
  it('reads its task token and its launch once each', async () => {
    const account = await poolAccount();
    await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id, delivery: 'proxy' });
    const { taskToken } = (await redeem(tickets.at(-1) as string)).body as { taskToken: string };
    resetCounts();
    const report = { requests: 3, inputTokens: 1200, outputTokens: 340, statusCounts: { '200': 3 } };
    const answer = await call('/v1/tasks/usage', report, { authorization: `Bearer ${taskToken}` });
    expect(answer.status).toBe(204);
    expect(counts).toEqual({ 'dynamodb.GetItem': 2, 'dynamodb.UpdateItem': 2 });
  });
});

describe('redemption through the ticket’s own facts', () => {
  it('answers a ticket redeemed twice at once only once; the other is ticket_used and no second token exists', async () => {
    const account = await poolAccount();
    const view = await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    const ticket = tickets.at(-1) as string;
    const answers = await Promise.allSettled([redeem(ticket), redeem(ticket)]);
    const served = answers.filter((a) => a.status === 'fulfilled');
    const refused = answers.filter((a) => a.status === 'rejected');
    expect(served).toHaveLength(1);
    expect(refused.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['ticket_used']);
    const body = (served[0] as PromiseFulfilledResult<{ body: { taskToken: string } }>).value.body;
    const launch = await getLaunch(view.id);
    expect(launch).toMatchObject({ status: 'running', taskTokenHash: hashOf(body.taskToken) });
    await expect(redeem(ticket)).rejects.toMatchObject({ code: 'ticket_used' });
    expect((await getLaunch(view.id))?.taskTokenHash).toBe(hashOf(body.taskToken));
  });

  it('refuses a ticket whose launch stopped after the ticket was spent, and writes no task token', async () => {
    const account = await poolAccount();
    const view = await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    const ticket = tickets.at(-1) as string;
    // The stop lands between the ticket's single-use write and the launch's starting → running write.
    await updateLaunch(view.id, { status: 'stopped' });
    const before = counts['dynamodb.BatchWriteItem'] ?? 0;
    await expect(redeem(ticket)).rejects.toMatchObject({ code: 'ticket_used' });
    expect(counts['dynamodb.BatchWriteItem'] ?? 0).toBe(before);
    expect(await getLaunch(view.id)).toMatchObject({ status: 'stopped', taskTokenHash: null });
  });

  it('redeems a ticket stored before tickets carried their launch’s facts, from the launch and its account', async () => {
    const account = await poolAccount();
    const view = await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    const ticket = tickets.at(-1) as string;
    const key = ticketKey(hashOf(ticket));
    const { facts, ...legacy } = (await readItem(key)) as Record<string, unknown>;
    expect(facts).toMatchObject({
      launch: { id: view.id },
      account: { id: account.id, secretName: account.secretName },
    });
    await documentClient().send(new PutCommand({ TableName: config().tableName, Item: legacy }));
    const answer = await redeem(ticket);
    expect(answer.status).toBe(200);
    expect((answer.body as { env: Record<string, string> }).env.CLAUDE_CODE_OAUTH_TOKEN).toBe(
      `hot-access-${account.id}`,
    );
  });

  it('stores no ticket that outlives its fifteen minutes, and no credential with it', async () => {
    const account = await poolAccount();
    const view = await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    const ticket = tickets.at(-1) as string;
    const item = (await readItem(ticketKey(hashOf(ticket)))) as Record<string, unknown>;
    const launch = await getLaunch(view.id);
    expect(Date.parse(String(item.expiresAt))).toBe(Date.parse(String(launch?.createdAt)) + TICKET_TTL_MS);
    expect(JSON.stringify(item)).not.toContain(ticket);
    expect(JSON.stringify(item)).not.toContain(`hot-access-${account.id}`);
    expect(JSON.stringify(item)).not.toContain(`hot-refresh-${account.id}`);
  });
});

describe('batch writes DynamoDB leaves partly undone', () => {
  it('writes the rest of a launch batch that comes back partly unprocessed, and its ticket redeems', async () => {
    const account = await poolAccount();
    resetCounts();
    dynamo.throttleNextBatch();
    const view = await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    expect(counts['dynamodb.BatchWriteItem']).toBe(2);
    const ticket = tickets.at(-1) as string;
    expect(await readItem(ticketKey(hashOf(ticket)))).toMatchObject({ launchId: view.id });
    expect(await getLaunch(view.id)).toMatchObject({ status: 'starting', taskArn: `test:task/${view.id}` });
    const answer = await redeem(ticket);
    expect(answer.status).toBe(200);
  });

  it('regression: a launch whose batch write gives up starts no task and leaves a launch.failed event', async () => {
    const account = await poolAccount();
    const handedOut = tickets.length;
    // Every round of the batch (five) comes back whole as unprocessed.
    dynamo.refuseBatches(5);
    await expect(launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id })).rejects.toMatchObject(
      {
        code: 'upstream_error',
      },
    );
    expect(tickets.length).toBe(handedOut);
    const { events } = await listAudit(20);
    const failed = events.find((e) => e.action === 'launch.failed' && e.accountId === account.id);
    expect(failed).toMatchObject({ actor: caller.id, provider: 'claude', detail: { error: 'upstream_error' } });
    expect(await getLaunch(String(failed?.detail?.launchId))).toBeUndefined();
    dynamo.refuseBatches(0);
  });

  it('stores the task token when a redemption batch comes back partly unprocessed', async () => {
    const account = await poolAccount();
    await launchTask(caller, { ...launchBody('claude'), preferredAccountId: account.id });
    dynamo.throttleNextBatch();
    const answer = await redeem(tickets.at(-1) as string);
    const { taskToken } = answer.body as { taskToken: string };
    expect(await readItem(taskTokenKey(hashOf(taskToken)))).toMatchObject({ type: 'task-token' });
  });
});

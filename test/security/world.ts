import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretListEntry,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { getLaunch } from '#shared/launch/records.ts';
import { issueTaskToken } from '#shared/launch/task-tokens.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { startOAuthApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { type FakeProviderApi, startFakeProviderApi } from '#test/helpers/fake-provider-api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * The attack suite's world: the whole API over real HTTP on loopback (embedded DynamoDB and Secrets
 * Manager endpoints, a real OAuth server for every provider, a recording ECS endpoint, a fake
 * provider API for key tests and helpers), real resources to aim at, and a register of every secret
 * value the run handled, for the leak scan.
 */

/** What kind of secret a value is; decides where it may legitimately appear (see `leaks.ts`). */
export type SecretKind =
  | 'caller_token'
  | 'api_key'
  | 'access_token'
  | 'id_token'
  | 'refresh_token'
  | 'authorization_code'
  | 'pkce_verifier'
  | 'device_code'
  | 'sealing_key'
  | 'ticket'
  | 'task_token'
  | 'grant'
  | 'client_secret';

/** One request the suite sent and what came back. */
export interface Exchange {
  method: string;
  path: string;
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RawRequest {
  method: string;
  /** Sent as is on the request line: traversal and percent-encoding reach the server untouched. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A bearer credential for the Authorization header. */
  bearer?: string;
}

export const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
} as const;

export interface Fixtures {
  /** Team Claude API-key account. */
  teamKeyAccount: string;
  /** Team Claude keyless account at the fake provider API. */
  teamKeylessAccount: string;
  /** Team Codex OAuth account (signed in through the OAuth server). */
  codexAccount: string;
  /** Alice's personal Claude API-key account: Bob and the admin must not see or change it. */
  alicePersonal: string;
  /** A Codex launch of Alice's whose ticket was redeemed: the spent ticket and its live task token. */
  aliceLaunch: string;
  spentTicket: string;
  taskToken: string;
  /** A task token whose launch expired (written through the store API with a past expiry). */
  expiredTaskToken: string;
}

export interface World {
  api: TestApi;
  oauth: OAuthServer;
  ecs: FakeEcs;
  upstream: FakeProviderApi;
  fixtures: Fixtures;
  exchanges: Exchange[];
  /** value → kind, for every secret value the run handled. */
  secrets: Map<string, SecretKind>;
  send: (request: RawRequest) => Promise<Exchange>;
  /** JSON helper: `body` is serialised; `as` picks a caller token. */
  json: <T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { as?: keyof typeof TOKENS; body?: unknown },
  ) => Promise<{ status: number; body: T }>;
  /** Reads every secret in the vault and registers the values by field name. */
  harvestVault: () => Promise<void>;
  /** Registers the codes, verifiers, device codes and refresh tokens the OAuth server received. */
  harvestOAuthRequests: () => void;
  /** Registers the ticket of every RunTask request ECS received. */
  harvestTickets: () => void;
  newApiKey: (label: string) => string;
  /** `text` with every registered secret replaced by its kind, for failure messages. */
  scrub: (text: string) => string;
  stop: () => Promise<void>;
}

/** Sends one request with node:http, so the path is not normalised the way fetch would. */
export function rawSend(base: string, request: RawRequest): Promise<Exchange> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...request.headers };
  if (request.bearer !== undefined) headers.authorization = `Bearer ${request.bearer}`;
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            method: request.method,
            path: request.path,
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

async function seed(world: Omit<World, 'fixtures'>): Promise<Fixtures> {
  const created = async (provider: string, body: unknown, as: keyof typeof TOKENS = 'admin', me = false) => {
    const path = `${me ? '/v1/me' : '/v1'}/providers/${provider}/accounts`;
    const res = await world.json<{ account: { id: string } }>('POST', path, { as, body });
    if (res.status !== 201) throw new Error(`seeding ${path} answered ${res.status}`);
    return res.body.account.id;
  };
  const teamKeyAccount = await created('claude', {
    kind: 'api_key',
    label: 'Team key',
    apiKey: world.newApiKey('team'),
  });
  const teamKeylessAccount = await created('claude', {
    kind: 'none',
    label: 'Gateway',
    endpoint: { type: 'custom', baseUrl: world.upstream.base },
  });
  const codex = await signIn(world.api, world.oauth, 'codex', 'pooled');
  const alicePersonal = await created(
    'claude',
    { kind: 'api_key', label: 'Alice own', apiKey: world.newApiKey('alice') },
    'alice',
    true,
  );
  const launched = await world.json<{ launch: { id: string } }>('POST', '/v1/launches', {
    as: 'alice',
    body: { provider: 'codex', maxDurationMinutes: 60, ecs: ECS },
  });
  if (launched.status !== 201)
    throw new Error(`seeding a launch answered ${launched.status} ${JSON.stringify(launched.body)}`);
  const spentTicket = ticketOf(world.ecs.runTasks.at(-1));
  const redeemed = await world.json<{ taskToken: string }>('POST', '/v1/tickets/redeem', {
    body: { ticket: spentTicket },
  });
  if (redeemed.status !== 200) throw new Error(`seeding a redemption answered ${redeemed.status}`);
  world.secrets.set(redeemed.body.taskToken, 'task_token');
  return {
    teamKeyAccount,
    teamKeylessAccount,
    codexAccount: codex.id,
    alicePersonal,
    aliceLaunch: launched.body.launch.id,
    spentTicket,
    taskToken: redeemed.body.taskToken,
    expiredTaskToken: await expiredTaskToken(world),
  };
}

/**
 * A task token that expired an hour ago (beyond the few minutes a proxy's final usage report may
 * still use it): a real launch (through the API), whose task token is issued by the store's own
 * function with the launch's deadline moved into the past.
 */
async function expiredTaskToken(world: Omit<World, 'fixtures'>): Promise<string> {
  const launched = await world.json<{ launch: { id: string } }>('POST', '/v1/launches', {
    as: 'alice',
    body: { provider: 'codex', maxDurationMinutes: 1, ecs: ECS },
  });
  const launch = launched.status === 201 ? await getLaunch(launched.body.launch.id) : undefined;
  if (!launch) throw new Error(`seeding the expiring launch answered ${launched.status}`);
  const token = await issueTaskToken({ ...launch, expiresAt: new Date(Date.now() - 3_600_000).toISOString() });
  world.secrets.set(token, 'task_token');
  return token;
}

/** The `KEYFLEET_TICKET` value of a recorded RunTask request (and registers it). */
export function ticketOf(runTask: Record<string, unknown> | undefined): string {
  const overrides = runTask?.overrides as
    | { containerOverrides: { environment: { name: string; value: string }[] }[] }
    | undefined;
  const ticket = overrides?.containerOverrides[0]?.environment.find((e) => e.name === 'KEYFLEET_TICKET')?.value;
  if (!ticket) throw new Error('RunTask carried no ticket');
  return ticket;
}

const VAULT_FIELDS: Record<string, SecretKind> = {
  access_token: 'access_token',
  id_token: 'id_token',
  refresh_token: 'refresh_token',
  api_key: 'api_key',
  key: 'sealing_key',
};

const OAUTH_REQUEST_FIELDS: Record<string, SecretKind> = {
  code: 'authorization_code',
  code_verifier: 'pkce_verifier',
  device_code: 'device_code',
  refresh_token: 'refresh_token',
};

/** The register's harvesters: they read values out of the vault, the OAuth server and RunTask. */
function harvesters(secrets: Map<string, SecretKind>, oauth: OAuthServer, ecs: FakeEcs) {
  const client = new SecretsManagerClient({});
  return {
    harvestVault: async () => {
      for (const secret of await vaultSnapshot(client)) {
        const value = JSON.parse(secret.value) as Record<string, unknown>;
        for (const [field, kind] of Object.entries(VAULT_FIELDS)) {
          if (typeof value[field] === 'string' && value[field]) secrets.set(value[field] as string, kind);
        }
      }
    },
    harvestOAuthRequests: () => {
      for (const recorded of oauth.requests) {
        for (const [field, kind] of Object.entries(OAUTH_REQUEST_FIELDS)) {
          const value = recorded.body[field];
          if (typeof value === 'string' && value && !secrets.has(value)) secrets.set(value, kind);
        }
      }
    },
    harvestTickets: () => {
      for (const runTask of ecs.runTasks) secrets.set(ticketOf(runTask), 'ticket');
    },
    scrub: (text: string) => {
      let out = text;
      for (const [value, kind] of secrets) out = out.split(value).join(`[${kind}]`);
      return out;
    },
  };
}

/** The API with a recording ECS endpoint and a fake provider API (Claude's API base) beside it. */
async function startPeers() {
  const ecs = await startFakeEcs();
  const upstream = await startFakeProviderApi();
  upstream.answers.set('/v1/messages', {
    status: 200,
    body: { content: [{ type: 'text', text: 'Add retries to the upload client' }] },
  });
  const { oauth, api, stop } = await startOAuthApi(
    (overrides) => {
      overrides.claude = { ...overrides.claude, apiBaseUrl: upstream.base };
    },
    { AWS_ENDPOINT_URL_ECS: ecs.endpoint },
  );
  return { ecs, upstream, oauth, api, stop };
}

/**
 * Starts the world and seeds its fixtures. One per test file; every value it hands out or
 * observes is registered in `secrets`.
 */
export async function startWorld(): Promise<World> {
  const { ecs, upstream, oauth, api, stop } = await startPeers();
  const secrets = new Map<string, SecretKind>();
  for (const token of Object.values(TOKENS)) secrets.set(token, 'caller_token');
  for (const settings of Object.values(oauth.overrides())) {
    if (typeof settings.clientSecret === 'string') secrets.set(settings.clientSecret, 'client_secret');
  }
  const exchanges: Exchange[] = [];
  const send = async (request: RawRequest) => {
    const exchange = await rawSend(api.base, request);
    exchanges.push(exchange);
    return exchange;
  };
  const partial: Omit<World, 'fixtures'> = {
    ...{ api, oauth, ecs, upstream, exchanges, secrets, send },
    ...harvesters(secrets, oauth, ecs),
    json: async (method, path, options = {}) => {
      const exchange = await send({
        method,
        path,
        bearer: TOKENS[options.as ?? 'admin'],
        ...(options.body === undefined
          ? {}
          : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } }),
      });
      return { status: exchange.status, body: exchange.text ? JSON.parse(exchange.text) : undefined };
    },
    newApiKey: (label) => {
      const key = `sk-ant-api03-sec-${label}-${randomBytes(9).toString('base64url')}`;
      upstream.validKeys.add(key);
      secrets.set(key, 'api_key');
      return key;
    },
    stop: async () => {
      await stop();
      await ecs.close();
      await upstream.close();
    },
  };
  const world: World = { ...partial, fixtures: await seed(partial) };
  world.harvestTickets();
  await world.harvestVault();
  world.harvestOAuthRequests();
  return world;
}

/** Every table item, sorted by key, as JSON text. */
export async function tableSnapshot(): Promise<string[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documentClient().send(
      new ScanCommand({ TableName: config().tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items.map((item) => stableJson(item)).sort();
}

/** JSON with object keys sorted at every level, so equal items compare equal as text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Every secret in the vault with its current value, sorted by name. */
export async function vaultSnapshot(
  client = new SecretsManagerClient({}),
): Promise<{ name: string; versionId: string; value: string }[]> {
  const entries: SecretListEntry[] = [];
  let next: string | undefined;
  do {
    const out = await client.send(new ListSecretsCommand({ NextToken: next, MaxResults: 100 }));
    entries.push(...(out.SecretList ?? []));
    next = out.NextToken;
  } while (next);
  const secrets = await Promise.all(
    entries.map(async (entry) => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: entry.ARN ?? entry.Name }));
      return { name: String(entry.Name), versionId: String(out.VersionId), value: String(out.SecretString ?? '') };
    }),
  );
  return secrets.sort((a, b) => a.name.localeCompare(b.name));
}

import type { Server } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localFunctions } from '#infra/local/functions.ts';
import { LocalTaskRunner } from '#infra/local/runner.ts';
import { createLocalApi, listen } from '#infra/local/server.ts';
import { config } from '#shared/config.ts';
import type { Caller } from '#shared/http/types.ts';
import { setTaskRunner } from '#shared/launch/runner.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { checkAnswer } from '#test/helpers/contract.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';

export const TOKENS = {
  admin: 'test-admin-token-0123456789',
  alice: 'test-member-alice-0123456789',
  bob: 'test-member-bob-0123456789',
} as const;

export interface ApiResult<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface TestApi {
  aws: LocalAws;
  /** The local task runner, when the API runs launches locally. */
  runner: LocalTaskRunner | undefined;
  base: string;
  /** Every response body the API gave during the test file, for leak checks. */
  responses: string[];
  call: <T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { as?: keyof typeof TOKENS; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ) => Promise<ApiResult<T>>;
  /** Every item in the table, as JSON text, for leak checks. */
  tableDump: () => Promise<string>;
  stop: () => Promise<void>;
}

/**
 * The whole API as local mode serves it, over real HTTP on loopback, against embedded endpoints.
 * Callers: `admin`, and members `alice` and `bob`.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  options: { runner?: 'local' | 'ecs' } = {},
): Promise<TestApi> {
  const aws = await startLocalAws({ KEYFLEET_ALLOW_LOOPBACK_CALLS: 'true', ...env });
  const tokens = new Map<string, Caller>([
    [TOKENS.admin, { id: 'admin', role: 'admin' }],
    [TOKENS.alice, { id: 'alice', role: 'member' }],
    [TOKENS.bob, { id: 'bob', role: 'member' }],
  ]);
  const server: Server = createLocalApi(localFunctions, { tokens });
  const base = await listen(server, 0);
  process.env.KEYFLEET_API_URL = base;
  const runner = options.runner === 'local' ? new LocalTaskRunner({ keepHome: true }) : undefined;
  if (runner) setTaskRunner(runner);
  const responses: string[] = [];
  return {
    aws,
    runner,
    base,
    responses,
    call: async (method, path, options = {}) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKENS[options.as ?? 'admin']}`,
          ...(options.body !== undefined || options.rawBody !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
          ...options.headers,
        },
        body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      });
      const text = await response.text();
      responses.push(text);
      const parsed = text ? JSON.parse(text) : undefined;
      checkAnswer(method, path, response.status, parsed);
      return { status: response.status, body: parsed };
    },
    tableDump: async () => {
      const out = await documentClient().send(new ScanCommand({ TableName: config().tableName }));
      return JSON.stringify(out.Items ?? []);
    },
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await aws.stop();
    },
  };
}

/**
 * The API with a loopback OAuth server standing in for every provider. `adjust` may change the
 * provider overrides (lead times, gateways) before the API reads them.
 */
export async function startOAuthApi(
  adjust: (overrides: Record<string, Record<string, unknown>>) => void = () => undefined,
  env: Record<string, string> = {},
  options: { runner?: 'local' | 'ecs' } = {},
): Promise<{ oauth: OAuthServer; api: TestApi; stop: () => Promise<void> }> {
  const oauth = await startOAuthServer();
  const overrides = oauth.overrides() as Record<string, Record<string, unknown>>;
  adjust(overrides);
  const api = await startTestApi({ KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(overrides), ...env }, options);
  return {
    oauth,
    api,
    stop: async () => {
      await api.stop();
      await oauth.close();
    },
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '#shared/errors.ts';
import { ensureFresh } from '#shared/launch/freshen.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * Deployed, the launch and container functions may not write secrets, so `ensureFresh` asks the
 * refresh function through Lambda Invoke. Lambda has no local peer: this loopback endpoint records
 * the exact Invoke requests the real SDK client sends and answers as told.
 */

let stop: () => Promise<void>;
let api: TestApi;
let oauth: OAuthServer;
let lambda: Server;
let accountId: string;
const invocations: { path: string; payload: unknown }[] = [];
let answer: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  // Set before the API starts: the configuration is read once, on first use.
  process.env.KEYFLEET_REFRESH_FUNCTION_NAME = 'keyfleet-test-refresh';
  ({ api, oauth, stop } = await startOAuthApi());
  lambda = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    invocations.push({ path: req.url ?? '', payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env.KEYFLEET_REFRESH_FUNCTION_NAME;
  lambda.closeAllConnections();
  lambda.close();
  await stop();
});
// Each test: a freshly signed-in Codex account (its token valid for an hour), no invocation yet.
beforeEach(async () => {
  accountId = (await signIn(api, oauth, 'codex', 'lambda-path')).id;
  invocations.length = 0;
  answer = { status: 200, body: JSON.stringify({ result: 'ok', status: 'connected' }) };
});

describe('ensureFresh through the refresh function', () => {
  it('asks for a refresh only when the token is due, without a force flag', async () => {
    await ensureFresh('codex', accountId, 10 * 60_000);
    expect(invocations).toEqual([]);
    await ensureFresh('codex', accountId, 2 * 3_600_000);
    expect(invocations).toEqual([
      {
        path: '/2015-03-31/functions/keyfleet-test-refresh/invocations',
        payload: { action: 'refresh', provider: 'codex', accountId, minValidityMs: 7_200_000 },
      },
    ]);
  });

  it('forces a refresh of a token that is still valid when asked to', async () => {
    await ensureFresh('codex', accountId, 10 * 60_000, { force: true });
    expect(invocations.map((i) => i.payload)).toEqual([
      { action: 'refresh', provider: 'codex', accountId, minValidityMs: 600_000, force: true },
    ]);
  });

  it('turns a failed invocation into upstream_error', async () => {
    answer = {
      status: 200,
      headers: { 'x-amz-function-error': 'Unhandled' },
      body: JSON.stringify({ errorType: 'Error', errorMessage: 'boom' }),
    };
    await expect(ensureFresh('codex', accountId, 10 * 60_000, { force: true })).rejects.toBeInstanceOf(UpstreamError);
  });
});

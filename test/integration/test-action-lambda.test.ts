import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as refreshHandler } from '#functions/refresh.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * Deployed, the Test action's forced refresh runs in the refresh function, so a refresh that
 * outlives the accounts function (29 s) still stores the token the provider rotated. Lambda has no
 * local peer: this loopback endpoint records the exact Invoke requests the real SDK client sends
 * and answers them by running the real refresh handler, or fails as told.
 */

let stop: () => Promise<void>;
let api: TestApi;
let oauth: OAuthServer;
let lambda: Server;
const invocations: { path: string; payload: unknown }[] = [];
let failNext = false;

beforeAll(async () => {
  // Set before the API starts: the configuration is read once, on first use.
  process.env.KEYFLEET_REFRESH_FUNCTION_NAME = 'keyfleet-test-refresh';
  ({ api, oauth, stop } = await startOAuthApi());
  lambda = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    invocations.push({ path: req.url ?? '', payload });
    if (failNext) {
      failNext = false;
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: 'Error', errorMessage: 'boom' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(await refreshHandler(payload)));
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
beforeEach(() => {
  invocations.length = 0;
  failNext = false;
});

describe('the Test action on an OAuth account, deployed', () => {
  it('forces the refresh through the refresh function, which stores the rotated token', async () => {
    const { id } = await signIn(api, oauth, 'codex', 'test-action');
    const before = (await readSecret(`keyfleet/test/codex/${id}`)).value.refresh_token;
    const res = await api.call<{ ok: boolean; detail: string }>('POST', `/v1/providers/codex/accounts/${id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, detail: 'Refreshed the access token.' });
    expect(invocations).toEqual([
      {
        path: '/2015-03-31/functions/keyfleet-test-refresh/invocations',
        payload: { action: 'refresh', provider: 'codex', accountId: id, minValidityMs: 0, force: true },
      },
    ]);
    const after = (await readSecret(`keyfleet/test/codex/${id}`)).value.refresh_token;
    expect(after).not.toBe(before);
  });

  it('answers upstream_error when the refresh function fails, and leaves the stored token alone', async () => {
    const { id } = await signIn(api, oauth, 'codex', 'test-action-fails');
    const before = (await readSecret(`keyfleet/test/codex/${id}`)).value.refresh_token;
    failNext = true;
    const res = await api.call<{ error: { code: string } }>('POST', `/v1/providers/codex/accounts/${id}/test`);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_error');
    expect((await readSecret(`keyfleet/test/codex/${id}`)).value.refresh_token).toBe(before);
  });
});

import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';

let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;
let closedPort: number;

/** A loopback port nothing listens on: bound once to learn a free number, then closed. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  closedPort = await closedLoopbackPort();
  ({ oauth, api, stop } = await startOAuthApi((overrides) => {
    overrides.grok = { ...overrides.grok, issuer: `http://127.0.0.1:${closedPort}` };
    // Configured as OpenID although the backend (like Bob's) never issues ID tokens.
    overrides.bob = { ...overrides.bob, scopes: ['openid', 'offline_access'] };
    // Told to read the email from an ID token that a provider without openid never sends.
    overrides.gemini = { ...overrides.gemini, emailSource: 'id_token' };
  }));
});
afterAll(() => stop());

describe('providers that fail or do not fit their configuration', () => {
  it('regression: grok sign-in answers 502 upstream_error naming Grok when discovery fails, not 500', async () => {
    const res = await api.call<{ error: { code: string; message: string } }>('POST', '/v1/providers/grok/sign-ins', {
      body: {},
    });
    expect(res.status).toBe(502);
    expect(res.body.error).toEqual({
      code: 'upstream_error',
      message: `Grok (xAI) did not answer the discovery request (its OpenID configuration at http://127.0.0.1:${closedPort}); try again later.`,
    });
    // Nothing was started: the next attempt tries discovery again and fails the same way.
    const again = await api.call<{ error: { code: string } }>('POST', '/v1/providers/grok/sign-ins', { body: {} });
    expect(again.status).toBe(502);
    expect(again.body.error.code).toBe('upstream_error');
  });

  it('names the misconfiguration when a provider configured as OpenID answers without an ID token', async () => {
    const started = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
      'POST',
      '/v1/providers/bob/sign-ins',
      { body: {} },
    );
    expect(started.status).toBe(201);
    expect(new URL(started.body.signIn.authorizeUrl).searchParams.get('nonce')).toEqual(expect.any(String));
    const pasted = await oauth.authorize(started.body.signIn.authorizeUrl, 'oidcless');
    const res = await api.call<{ error: { code: string; message: string } }>(
      'POST',
      `/v1/sign-ins/${started.body.signIn.id}/complete`,
      { body: { redirectUrl: pasted } },
    );
    expect(res.status).toBe(502);
    expect(res.body.error).toEqual({
      code: 'upstream_error',
      message:
        'Bob (IBM) answered the token request without an ID token although its scopes include "openid". If it is a plain OAuth 2.0 server, remove "openid" from its scopes in KEYFLEET_PROVIDER_OVERRIDES.',
    });
    const list = await api.call<{ provider: { accounts: unknown[] } }>('GET', '/v1/providers/bob');
    expect(list.body.provider.accounts).toEqual([]);
  });

  it('takes the email from userinfo when a provider that is not OpenID has no ID token to read it from', async () => {
    const started = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
      'POST',
      '/v1/providers/gemini/sign-ins',
      { body: {} },
    );
    const pasted = await oauth.authorize(started.body.signIn.authorizeUrl, 'tokenless');
    const res = await api.call<{ account: { email: string | null; label: string } }>(
      'POST',
      `/v1/sign-ins/${started.body.signIn.id}/complete`,
      { body: { redirectUrl: pasted } },
    );
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({ email: 'tokenless@example.test', label: 'tokenless@example.test' });
    expect(oauth.userinfoRequests.map((r) => r.path)).toEqual(['/oauth2/v2/userinfo']);
  });
});

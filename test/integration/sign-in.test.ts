import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpHandler } from '#shared/http/handler.ts';
import { signInRoutes } from '#shared/oauth/routes.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import { httpEvent } from '#test/helpers/events.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import { type OAuthServer, REDIRECTS } from '#test/helpers/oauth-server.ts';

let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ oauth, api, stop } = await startOAuthApi());
});
afterAll(() => stop());

/** Every code, verifier and token the OAuth server saw, and every value the vault holds (the sealing key too). */
async function secretsInPlay(): Promise<Set<string>> {
  const secrets = new Set<string>();
  for (const request of oauth.requests) {
    for (const key of ['code_verifier', 'refresh_token', 'device_code', 'code']) {
      const value = request.body[key];
      if (typeof value === 'string' && value.length >= 8) secrets.add(value);
    }
  }
  const stored = await api.aws.secrets.store.dispatch('ListSecrets', { MaxResults: 100 }, 'eu-west-1');
  for (const entry of (stored as { SecretList: { Name: string }[] }).SecretList) {
    const value = (await readSecret(entry.Name)).value;
    for (const v of Object.values(value)) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
  }
  return secrets;
}

// No token, refresh token or verifier reaches the logs, the table or a response.
checkNoLeaksAfterEach(secretsInPlay, { table: () => api.tableDump(), responses: () => api.responses.join('\n') });

interface SignIn {
  id: string;
  flow: string;
  authorizeUrl?: string;
  verificationUri?: string;
  verificationUriComplete?: string;
  userCode?: string;
  intervalSeconds?: number;
  expiresAt: string;
  instructions: string;
}
interface Account {
  id: string;
  kind: string;
  label: string;
  email: string | null;
  owner: string | null;
  active: boolean;
  status: string;
  tokenExpiresAt: string | null;
}

async function start(provider: string, body?: unknown, as: 'admin' | 'alice' | 'bob' = 'admin', personal = false) {
  const path = personal ? `/v1/me/providers/${provider}/sign-ins` : `/v1/providers/${provider}/sign-ins`;
  const res = await api.call<{ signIn: SignIn }>('POST', path, { body, as });
  expect(res.status).toBe(201);
  return res.body.signIn;
}

const complete = (id: string, body: unknown, as: 'admin' | 'alice' | 'bob' = 'admin') =>
  api.call<{ account: Account; status?: string; error?: { code: string; message: string } }>(
    'POST',
    `/v1/sign-ins/${id}/complete`,
    { body, as },
  );

async function secretOf(provider: string, accountId: string) {
  return (await readSecret(`keyfleet/test/${provider}/${accountId}`)).value;
}

describe('Claude: code flow (paste code#state), JSON token body', () => {
  it('signs in, stores the tokens in the vault only, and makes the first account active', async () => {
    const signIn = await start('claude');
    expect(signIn.flow).toBe('code');
    const authorize = new URL(signIn.authorizeUrl ?? '');
    expect(authorize.origin + authorize.pathname).toBe(`${oauth.issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      code: 'true',
      client_id: 'claude-client',
      response_type: 'code',
      redirect_uri: REDIRECTS.claude,
      scope: 'org:create_api_key user:profile user:inference',
      code_challenge_method: 'S256',
    });
    expect(authorize.searchParams.get('nonce')).toBeNull();

    const callback = new URL(await oauth.authorize(authorize.href, 'carol'));
    const pasted = `${callback.searchParams.get('code')}#${callback.searchParams.get('state')}`;
    const res = await complete(signIn.id, { code: pasted });
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({
      kind: 'oauth',
      email: 'carol@example.test',
      label: 'carol@example.test',
      owner: null,
      active: true,
      status: 'connected',
    });

    const tokenCall = oauth.requests.filter((r) => r.path === '/token').at(-1);
    expect(tokenCall?.contentType).toBe('application/json');
    expect(tokenCall?.userAgent).toMatch(/^claude-cli\//);
    expect(tokenCall?.body).toMatchObject({
      grant_type: 'authorization_code',
      client_id: 'claude-client',
      redirect_uri: REDIRECTS.claude,
      state: callback.searchParams.get('state'),
    });
    expect(String(tokenCall?.body.code_verifier)).toMatch(/^[A-Za-z0-9_-]{43,128}$/);

    const stored = await secretOf('claude', res.body.account.id);
    expect(stored.access_token).toEqual(expect.any(String));
    expect(stored.refresh_token).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toContain(String(stored.access_token));
  });

  it('refuses a pasted state that does not match and keeps the sign-in usable', async () => {
    const signIn = await start('claude', { label: 'Team Max' });
    const callback = new URL(await oauth.authorize(signIn.authorizeUrl ?? '', 'erin'));
    const code = callback.searchParams.get('code');
    const wrong = await complete(signIn.id, { code: `${code}#not-the-state` });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error?.code).toBe('sign_in_failed');

    const right = await complete(signIn.id, { code: `${code}#${callback.searchParams.get('state')}` });
    expect(right.status).toBe(201);
    expect(right.body.account).toMatchObject({ label: 'Team Max', email: 'erin@example.test', active: true });

    const again = await complete(signIn.id, { code: `${code}#${callback.searchParams.get('state')}` });
    expect(again.status).toBe(404);
  });

  it('checks the shape of what is pasted', async () => {
    const signIn = await start('claude');
    const res = await complete(signIn.id, { code: 'no-state-here' });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('validation_failed');
    const wrongField = await complete(signIn.id, { redirectUrl: 'http://x' });
    expect(wrongField.status).toBe(400);
  });
});

describe('Codex: redirect URL flow, email from the id_token', () => {
  it('signs in from the pasted localhost:1455 URL', async () => {
    const signIn = await start('codex');
    const authorize = new URL(signIn.authorizeUrl ?? '');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      id_token_add_organizations: 'true',
      codex_cli_simplified_flow: 'true',
      originator: 'codex_cli_rs',
      redirect_uri: REDIRECTS.codex,
    });
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const pasted = await oauth.authorize(authorize.href, 'frank');
    expect(pasted.startsWith(`${REDIRECTS.codex}?`)).toBe(true);
    const res = await complete(signIn.id, { redirectUrl: pasted });
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({ email: 'frank@example.test', label: 'frank@example.test', active: true });
    const tokenCall = oauth.requests.filter((r) => r.path === '/token').at(-1);
    expect(tokenCall?.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect((await secretOf('codex', res.body.account.id)).id_token).toEqual(expect.any(String));
  });

  it('reports a provider error carried in the pasted URL', async () => {
    const signIn = await start('codex');
    const res = await complete(signIn.id, { redirectUrl: `${REDIRECTS.codex}?error=access_denied&state=x` });
    expect(res.status).toBe(422);
    expect(res.body.error?.message).toContain('access_denied');
  });

  it('answers sign_in_failed when the provider refuses the code, and leaves the sign-in in place', async () => {
    const signIn = await start('codex');
    const pasted = new URL(await oauth.authorize(signIn.authorizeUrl ?? '', 'gina'));
    pasted.searchParams.set('code', 'forged-code-value');
    const res = await complete(signIn.id, { redirectUrl: pasted.href });
    expect(res.status).toBe(422);
    expect(res.body.error?.code).toBe('sign_in_failed');
    const list = await api.call<{ provider: { accounts: Account[] } }>('GET', '/v1/providers/codex');
    expect(list.body.provider.accounts.map((a) => a.email)).not.toContain('gina@example.test');
  });
});

describe('Gemini: redirect URL flow with the client secret, email from userinfo', () => {
  it('sends the client secret in the form body and asks for Google’s scopes without OpenID', async () => {
    const signIn = await start('gemini');
    const authorize = new URL(signIn.authorizeUrl ?? '');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: 'gemini-client',
      access_type: 'offline',
      prompt: 'consent',
      scope:
        'https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile',
    });
    expect(authorize.searchParams.get('nonce')).toBeNull();
    const res = await complete(signIn.id, { redirectUrl: await oauth.authorize(authorize.href, 'hugo') });
    expect(res.status).toBe(201);
    const tokenCall = oauth.requests.filter((r) => r.path === '/token').at(-1);
    expect(tokenCall?.body).toMatchObject({ client_id: 'gemini-client', client_secret: 'gemini-test-client-secret' });
    expect((await secretOf('gemini', res.body.account.id)).id_token).toBeNull();
  });

  it('regression: gemini sign-in reads the email from Google’s v2 userinfo answer, which has no sub', async () => {
    const signIn = await start('gemini');
    const seen = oauth.userinfoRequests.length;
    const res = await complete(signIn.id, { redirectUrl: await oauth.authorize(signIn.authorizeUrl ?? '', 'hana') });
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({ email: 'hana@example.test', label: 'hana@example.test' });
    const stored = await secretOf('gemini', res.body.account.id);
    expect(oauth.userinfoRequests.slice(seen)).toEqual([
      { path: '/oauth2/v2/userinfo', method: 'GET', authorization: `Bearer ${stored.access_token}` },
    ]);
    expect(oauth.userinfoAnswers.at(-1)).toEqual({
      id: expect.stringMatching(/^\d+$/),
      email: 'hana@example.test',
      verified_email: true,
      name: 'hana',
      picture: expect.stringMatching(/^https:\/\//),
    });
  });
});

describe('Bob: plain OAuth 2.0 backend once configured', () => {
  it('regression: bob sign-in succeeds when the token answer has no id_token, with the email from the profile', async () => {
    const signIn = await start('bob');
    expect(signIn.flow).toBe('redirect_url');
    const authorize = new URL(signIn.authorizeUrl ?? '');
    expect(authorize.searchParams.get('redirect_uri')).toBe(REDIRECTS.bob);
    expect(authorize.searchParams.get('scope')).toBe('bob:inference offline_access');
    expect(authorize.searchParams.get('nonce')).toBeNull();
    const seen = oauth.userinfoRequests.length;
    const res = await complete(signIn.id, { redirectUrl: await oauth.authorize(authorize.href, 'bobby') });
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({
      kind: 'oauth',
      email: 'bobby@example.test',
      label: 'bobby@example.test',
      status: 'connected',
      active: true,
    });
    const stored = await secretOf('bob', res.body.account.id);
    expect(stored).toMatchObject({
      id_token: null,
      refresh_token: expect.any(String),
      access_token: expect.any(String),
    });
    expect(oauth.userinfoRequests.slice(seen).map((r) => r.path)).toEqual(['/bob/v1/profile']);
  });
});

describe('Grok: device flow', () => {
  it('answers pending until approved, honours the poll interval, then creates the account', async () => {
    const signIn = await start('grok');
    expect(signIn).toMatchObject({ flow: 'device', intervalSeconds: 5 });
    expect(signIn.verificationUri).toBe(`${oauth.issuer}/device`);
    expect(signIn.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(signIn.verificationUriComplete).toContain('user_code=');

    const first = await complete(signIn.id, {});
    expect(first).toMatchObject({ status: 202, body: { status: 'pending' } });
    const deviceCalls = () =>
      oauth.requests.filter((r) => r.body.grant_type === 'urn:ietf:params:oauth:grant-type:device_code').length;
    const afterFirst = deviceCalls();

    // Within the interval Keyfleet does not poll the provider again.
    expect((await complete(signIn.id, {})).status).toBe(202);
    expect(deviceCalls()).toBe(afterFirst);

    await oauth.approveDevice(signIn.verificationUriComplete ?? '', 'dana');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 6_000 });
    try {
      const done = await complete(signIn.id, {});
      expect(done.status).toBe(201);
      expect(done.body.account).toMatchObject({ kind: 'oauth', email: 'dana@example.test', active: true });
    } finally {
      vi.useRealTimers();
    }
    expect(deviceCalls()).toBe(afterFirst + 1);
  });

  it('slows down when the provider says slow_down', async () => {
    const signIn = await start('grok');
    oauth.injectTokenFailures({ status: 400, body: { error: 'slow_down' } });
    expect((await complete(signIn.id, {})).status).toBe(202);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 6_000 });
    try {
      const polls = oauth.requests.length;
      expect((await complete(signIn.id, {})).status).toBe(202);
      expect(oauth.requests.length).toBe(polls);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('sessions', () => {
  it('expire after 15 minutes whatever TTL has done, and nothing is created', async () => {
    const signIn = await start('codex');
    const pasted = await oauth.authorize(signIn.authorizeUrl ?? '', 'ivan');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(signIn.expiresAt) + 1 });
    try {
      const res = await complete(signIn.id, { redirectUrl: pasted });
      expect(res.status).toBe(410);
      expect(res.body.error?.code).toBe('sign_in_expired');
    } finally {
      vi.useRealTimers();
    }
    const list = await api.call<{ provider: { accounts: Account[] } }>('GET', '/v1/providers/codex');
    expect(list.body.provider.accounts.map((a) => a.email)).not.toContain('ivan@example.test');
  });

  it('can be cancelled, after which they are gone', async () => {
    const signIn = await start('claude');
    expect((await api.call('DELETE', `/v1/sign-ins/${signIn.id}`)).status).toBe(204);
    expect((await complete(signIn.id, { code: 'a#b' })).status).toBe(404);
  });

  it('belong to the caller who started them', async () => {
    const signIn = await start('claude');
    expect((await complete(signIn.id, { code: 'a#b' }, 'alice')).status).toBe(404);
    expect((await api.call('DELETE', `/v1/sign-ins/${signIn.id}`, { as: 'alice' })).status).toBe(404);
    expect((await api.call('POST', '/v1/sign-ins/si_not-a-real-id/complete', { body: {} })).status).toBe(404);
  });

  it('are refused to members on team routes', async () => {
    const res = await api.call('POST', '/v1/providers/claude/sign-ins', { as: 'alice', body: {} });
    expect(res.status).toBe(403);
  });

  it('validate labels and refuse unknown providers', async () => {
    for (const label of ['', 'x'.repeat(101), 'bad\u0007label', 'two\nlines']) {
      const res = await api.call('POST', '/v1/providers/claude/sign-ins', { body: { label } });
      expect(res.status, JSON.stringify(label)).toBe(400);
      expect((res.body.error as { code: string }).code).toBe('validation_failed');
    }
    expect((await api.call('POST', '/v1/providers/mistral/sign-ins', { body: {} })).status).toBe(404);
  });
});

describe('personal sign-ins', () => {
  it('give a member an account only they (and admins, read-only) see', async () => {
    const signIn = await start('codex', { label: 'Alice own' }, 'alice', true);
    const pasted = await oauth.authorize(signIn.authorizeUrl ?? '', 'alice');
    expect((await complete(signIn.id, { redirectUrl: pasted }, 'bob')).status).toBe(404);
    const res = await complete(signIn.id, { redirectUrl: pasted }, 'alice');
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({ owner: 'alice', active: true, label: 'Alice own' });

    const mine = await api.call<{ providers: { id: string; accounts: Account[]; activeAccountId: string | null }[] }>(
      'GET',
      '/v1/me/providers',
      { as: 'alice' },
    );
    const codex = mine.body.providers.find((p) => p.id === 'codex');
    expect(codex?.accounts.map((a) => a.id)).toEqual([res.body.account.id]);
    expect(codex?.activeAccountId).toBe(res.body.account.id);

    const bobs = await api.call<{ providers: { id: string; accounts: Account[] }[] }>('GET', '/v1/me/providers', {
      as: 'bob',
    });
    expect(bobs.body.providers.flatMap((p) => p.accounts)).toEqual([]);
    const team = await api.call<{ provider: { accounts: Account[] } }>('GET', '/v1/providers/codex', { as: 'bob' });
    expect(team.body.provider.accounts.map((a) => a.id)).not.toContain(res.body.account.id);
    const admin = await api.call<{ provider: { accounts: Account[] } }>('GET', '/v1/providers/codex');
    expect(admin.body.provider.accounts.find((a) => a.id === res.body.account.id)?.owner).toBe('alice');
  });
});

describe('the sign-in routes on their own (shared/oauth/routes.ts), as a Lambda serves them', () => {
  const serve = httpHandler(signInRoutes);
  const as = (callerId: string) => ({ lambda: { callerId, role: callerId === 'admin' ? 'admin' : 'member' } });
  const call = async (method: string, path: string, callerId: string, body?: unknown) => {
    const event = httpEvent(method, path, as(callerId), {
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { 'content-type': 'application/json' },
    });
    const result = await serve(event, {} as Context);
    return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
  };

  it('starts a personal Codex sign-in, refuses a pasted URL without code and state, then completes it', async () => {
    const started = await call('POST', '/v1/me/providers/codex/sign-ins', 'alice', { label: 'Alice via routes' });
    expect(started.status).toBe(201);
    const id = started.body.signIn.id as string;
    const refused = await call('POST', `/v1/sign-ins/${id}/complete`, 'alice', {
      redirectUrl: 'http://localhost:1455/auth/callback',
    });
    expect(refused).toEqual({
      status: 400,
      body: {
        error: {
          code: 'validation_failed',
          message: 'redirectUrl has no code and state; paste the address you were sent back to.',
          details: [{ path: 'body.redirectUrl', message: 'must contain code and state' }],
        },
      },
    });
    const back = await oauth.authorize(started.body.signIn.authorizeUrl, 'routes-alice');
    expect(await call('POST', `/v1/sign-ins/${id}/complete`, 'bob', { redirectUrl: back })).toMatchObject({
      status: 404,
    });
    const done = await call('POST', `/v1/sign-ins/${id}/complete`, 'alice', { redirectUrl: back });
    expect(done.status).toBe(201);
    expect(done.body.account).toMatchObject({ kind: 'oauth', label: 'Alice via routes', owner: 'alice' });
    // Completing removed the sign-in.
    expect((await call('DELETE', `/v1/sign-ins/${id}`, 'alice')).status).toBe(404);
  });

  it('keeps team sign-ins for admins, and lets only their starter cancel them', async () => {
    expect((await call('POST', '/v1/providers/claude/sign-ins', 'alice', {})).status).toBe(403);
    const started = await call('POST', '/v1/providers/claude/sign-ins', 'admin', {});
    expect(started.status).toBe(201);
    expect((await call('DELETE', `/v1/sign-ins/${started.body.signIn.id}`, 'alice')).status).toBe(404);
    expect((await call('DELETE', `/v1/sign-ins/${started.body.signIn.id}`, 'admin')).status).toBe(204);
    expect((await call('POST', `/v1/sign-ins/${started.body.signIn.id}/complete`, 'admin', {})).status).toBe(404);
  });
});

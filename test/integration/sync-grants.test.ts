import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOAuthAccount } from '#shared/oauth/accounts.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

let api: TestApi;
let oauth: OAuthServer;
let stop: () => Promise<void>;

type Err = { error: { code: string; message: string; details?: { path: string }[] } };
interface Grant {
  id: string;
  provider: string;
  accountId: string;
  accountLabel: string;
  createdAt: string;
  expiresAt: string;
  status: string;
  token?: string;
}
interface Profile {
  provider: string;
  grantId: string;
  accountId: string;
  expiresAt: string;
  env: Record<string, string>;
  files: { path: string; mode: number; content: string; merge?: boolean }[];
  notes: string[];
}

const accounts: Record<string, string> = {};
/** Every token value the local OAuth server issued for an account, as the vault holds it. */
const vault = async (provider: string) => (await readSecret(`keyfleet/test/${provider}/${accounts[provider]}`)).value;

const issue = (body: Record<string, unknown>, as: 'admin' | 'alice' | 'bob' = 'alice') =>
  api.call<{ grant: Grant } & Err>('POST', '/v1/me/grants', { as, body });
const profileOf = (grant: string) =>
  api.call<Profile & Err>('GET', '/v1/grants/profile', { headers: { authorization: `Bearer ${grant}` } });

beforeAll(async () => {
  ({ api, oauth, stop } = await startOAuthApi());
});
afterAll(async () => stop());
// Each test: one signed-in team account per provider, active (the table starts empty).
beforeEach(async () => {
  for (const provider of ['claude', 'codex', 'gemini'] as const) {
    accounts[provider] = (await signIn(api, oauth, provider, `pool-${provider}`)).id;
  }
  const grok = await createOAuthAccount({
    provider: 'grok',
    scope: { owner: null },
    tokens: {
      access_token: 'grok-access-token-for-grants-0001',
      refresh_token: 'grok-rotating-refresh-token-0001',
      token_type: 'Bearer',
      scope: 'openid',
      id_token: null,
      account_id: null,
      expires_at: Date.now() + 3 * 3600_000,
    },
    label: 'grok pool',
    email: null,
    actor: 'test',
  });
  accounts.grok = grok.account.id;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('POST /v1/me/grants', () => {
  it('issues a grant bound to the caller and the account a launch would use, stored only as a hash', async () => {
    const res = await issue({ provider: 'codex' });
    expect(res.status).toBe(201);
    const { token, ...grant } = res.body.grant;
    expect(token).toMatch(/^kfg_[A-Za-z0-9_-]{43}$/);
    expect(grant).toEqual({
      id: expect.stringMatching(/^grt_[a-f0-9]{20}$/),
      provider: 'codex',
      accountId: accounts.codex,
      accountLabel: expect.any(String),
      createdAt: expect.any(String),
      expiresAt: new Date(Date.parse(grant.createdAt) + 24 * 3600_000).toISOString(),
      status: 'active',
    });
    const table = await api.tableDump();
    expect(table).not.toContain(token);
    expect(table).toContain('GRANTTOKEN#');
    const audit = await api.call<{ events: { action: string; actor: string; detail: Record<string, unknown> }[] }>(
      'GET',
      '/v1/audit?limit=5',
    );
    const issued = audit.body.events.find((e) => e.action === 'grant.issued' && e.detail.grantId === grant.id);
    expect(issued?.actor).toBe('alice');
    expect(issued?.detail).toEqual({ grantId: grant.id, step: 'active_oauth', expiresAt: grant.expiresAt });
    expect(capturedLogs()).not.toContain(String(token));
  });

  it("follows a launch's resolution order: the caller's own active account before the team's active API key", async () => {
    const team = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'team key', apiKey: 'sk-ant-api03-team-grant-key-0001' },
    });
    await api.call('PUT', '/v1/providers/claude/active', { body: { accountId: team.body.account.id } });
    const own = await api.call<{ account: { id: string } }>('POST', '/v1/me/providers/claude/accounts', {
      as: 'alice',
      body: { kind: 'api_key', label: 'alice key', apiKey: 'sk-ant-api03-alice-grant-key-0001' },
    });
    await api.call('PUT', '/v1/me/providers/claude/active', { as: 'alice', body: { accountId: own.body.account.id } });

    const alice = await issue({ provider: 'claude' }, 'alice');
    const bob = await issue({ provider: 'claude' }, 'bob');
    const chosen = await issue({ provider: 'claude', preferredAccountId: accounts.claude }, 'bob');
    expect([alice.body.grant.accountId, bob.body.grant.accountId, chosen.body.grant.accountId]).toEqual([
      own.body.account.id,
      team.body.account.id,
      accounts.claude,
    ]);
    const profile = await profileOf(String(bob.body.grant.token));
    expect(profile.body.env.ANTHROPIC_API_KEY).toBe('sk-ant-api03-team-grant-key-0001');
    // Another member's personal account is not theirs to choose.
    const theirs = await issue({ provider: 'claude', preferredAccountId: own.body.account.id }, 'bob');
    expect(theirs.status).toBe(404);
    await api.call('PUT', '/v1/providers/claude/active', { body: { accountId: null } });
  });

  it('refuses a bad body with validation_failed and stores nothing', async () => {
    const before = await api.call<{ grants: Grant[] }>('GET', '/v1/me/grants', { as: 'bob' });
    for (const body of [{ provider: 'codex', hours: 0 }, { provider: 'codex', hours: 721 }, { provider: 'nope' }, {}]) {
      const res = await issue(body, 'bob');
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    const after = await api.call<{ grants: Grant[] }>('GET', '/v1/me/grants', { as: 'bob' });
    expect(after.body.grants).toEqual(before.body.grants);
  });
});

describe('GET /v1/grants/profile', () => {
  it('no profile carries the rotating refresh token the OAuth server issued', async () => {
    for (const provider of ['claude', 'codex', 'gemini']) {
      const grant = await issue({ provider, preferredAccountId: accounts[provider] });
      const res = await profileOf(String(grant.body.grant.token));
      expect(res.status).toBe(200);
      const stored = await vault(provider);
      expect(String(stored.refresh_token)).not.toBe('');
      const text = JSON.stringify(res.body);
      expect(text, provider).not.toContain(String(stored.refresh_token));
      expect(text, provider).toContain(String(stored.access_token));
      expect(res.body.files.every((f) => f.mode === 0o600)).toBe(true);
    }
  });

  it('gives Claude the access token in .credentials.json with no refresh token, and as CLAUDE_CODE_OAUTH_TOKEN', async () => {
    const grant = await issue({ provider: 'claude', preferredAccountId: accounts.claude });
    const res = await profileOf(String(grant.body.grant.token));
    const stored = await vault('claude');
    expect(res.body.env).toEqual({ CLAUDE_CODE_OAUTH_TOKEN: String(stored.access_token) });
    expect(res.body.files.map((f) => [f.path, f.mode, f.merge])).toEqual([['.claude/.credentials.json', 0o600, true]]);
    expect(JSON.parse(res.body.files[0]?.content ?? '{}')).toEqual({
      claudeAiOauth: {
        accessToken: stored.access_token,
        refreshToken: null,
        expiresAt: stored.expires_at,
        scopes: String(stored.scope).split(' '),
        subscriptionType: null,
      },
    });
  });

  it("gives Codex auth.json with the grant as refresh_token and Keyfleet's refresh address as a variable", async () => {
    const grant = await issue({ provider: 'codex' });
    const token = String(grant.body.grant.token);
    const res = await profileOf(token);
    const stored = await vault('codex');
    expect(res.body.env).toEqual({ CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${api.base}/v1/oauth/codex/token` });
    expect(res.body.files.map((f) => f.path)).toEqual(['.codex/auth.json']);
    const auth = JSON.parse(res.body.files[0]?.content ?? '{}');
    expect(auth.tokens).toEqual({
      id_token: stored.id_token,
      access_token: stored.access_token,
      refresh_token: token,
      account_id: stored.account_id ?? null,
    });
  });

  it('gives Gemini the access token only, and settings merged into the existing file', async () => {
    const grant = await issue({ provider: 'gemini' });
    const res = await profileOf(String(grant.body.grant.token));
    expect(res.body.env).toEqual({
      GOOGLE_GENAI_USE_GCA: 'true',
      GOOGLE_CLOUD_ACCESS_TOKEN: String((await vault('gemini')).access_token),
    });
    expect(res.body.files.map((f) => [f.path, f.merge])).toEqual([['.gemini/settings.json', true]]);
  });

  it('refuses a task-token-shaped value, an unknown grant and no grant with 401', async () => {
    for (const authorization of [`Bearer kft_${'a'.repeat(43)}`, `Bearer kfg_${'a'.repeat(43)}`, '']) {
      const res = await api.call<Err>('GET', '/v1/grants/profile', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
  });
});

describe('the container token routes with a grant', () => {
  it("Codex's refresh route answers the pooled account's current tokens and keeps the grant as refresh_token", async () => {
    const grant = String((await issue({ provider: 'codex' })).body.grant.token);
    const res = await api.call<Record<string, unknown>>('POST', '/v1/oauth/codex/token', {
      body: {
        grant_type: 'refresh_token',
        refresh_token: grant,
        client_id: 'app_x',
        refresh_reason: 'proactive_expiry',
      },
    });
    expect(res.status).toBe(200);
    const stored = await vault('codex');
    expect(res.body).toEqual({
      access_token: stored.access_token,
      id_token: stored.id_token,
      refresh_token: grant,
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    const other = String((await issue({ provider: 'claude', preferredAccountId: accounts.claude })).body.grant.token);
    const refused = await api.call<Err>('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: other },
    });
    expect(refused.status).toBe(403);
  });

  it("GET /v1/tasks/token answers Grok's current access token for a Grok grant", async () => {
    const grant = String((await issue({ provider: 'grok' })).body.grant.token);
    const res = await api.call<Record<string, unknown>>('GET', '/v1/tasks/token?provider=grok', {
      headers: { authorization: `Bearer ${grant}` },
    });
    expect(res.status).toBe(200);
    expect(res.body.access_token).toBe('grok-access-token-for-grants-0001');
    const profile = await profileOf(grant);
    expect(profile.body.env).toEqual({
      KEYFLEET_URL: api.base,
      KEYFLEET_TASK_TOKEN: grant,
      GROK_AUTH_PROVIDER_COMMAND: 'keyfleet token grok',
      GROK_AUTH_PROVIDER_LABEL: 'keyfleet',
    });
    expect(JSON.stringify(profile.body)).not.toContain('grok-rotating-refresh-token-0001');
  });
});

describe('GET and DELETE /v1/me/grants', () => {
  it("lists only the caller's own grants, and another member's grant is not_found", async () => {
    const mine = (await issue({ provider: 'codex' }, 'bob')).body.grant;
    const alice = await api.call<{ grants: Grant[] }>('GET', '/v1/me/grants', { as: 'alice' });
    const bob = await api.call<{ grants: Grant[] }>('GET', '/v1/me/grants', { as: 'bob' });
    expect(alice.body.grants.map((g) => g.id)).not.toContain(mine.id);
    expect(bob.body.grants[0]).toEqual({ ...mine, token: undefined, status: 'active' });
    expect(JSON.stringify(bob.body)).not.toContain(String(mine.token));
    for (const as of ['alice', 'admin'] as const) {
      const res = await api.call<Err>('DELETE', `/v1/me/grants/${mine.id}`, { as });
      expect(res.status, as).toBe(404);
    }
    expect((await profileOf(String(mine.token))).status).toBe(200);
  });

  it('revokes a grant: the profile, refresh and token routes refuse it at once; audited as grant.revoked', async () => {
    const grant = (await issue({ provider: 'codex' })).body.grant;
    const token = String(grant.token);
    const res = await api.call<{ grant: Grant }>('DELETE', `/v1/me/grants/${grant.id}`, { as: 'alice' });
    expect(res.status).toBe(200);
    expect(res.body.grant.status).toBe('revoked');
    expect((await profileOf(token)).status).toBe(401);
    const refresh = await api.call<Err>('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: token },
    });
    expect(refresh.status).toBe(401);
    const access = await api.call<Err>('GET', '/v1/tasks/token', { headers: { authorization: `Bearer ${token}` } });
    expect(access.status).toBe(401);
    const again = await api.call<{ grant: Grant }>('DELETE', `/v1/me/grants/${grant.id}`, { as: 'alice' });
    expect(again.body.grant.status).toBe('revoked');
    const audit = await api.call<{ events: { action: string; detail: Record<string, unknown> }[] }>(
      'GET',
      '/v1/audit?limit=50',
    );
    const revoked = audit.body.events.filter((e) => e.action === 'grant.revoked' && e.detail.grantId === grant.id);
    expect(revoked).toHaveLength(1);
  });

  it('ends a grant when it expires: the profile route refuses it and the list says expired', async () => {
    const grant = (await issue({ provider: 'codex', hours: 1 }, 'bob')).body.grant;
    const token = String(grant.token);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(grant.expiresAt) - 1000 });
    expect((await profileOf(token)).status).toBe(200);
    vi.setSystemTime(Date.parse(grant.expiresAt));
    expect((await profileOf(token)).status).toBe(401);
    const refresh = await api.call<Err>('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: token },
    });
    expect(refresh.status).toBe(401);
    const list = await api.call<{ grants: Grant[] }>('GET', '/v1/me/grants', { as: 'bob' });
    expect(list.body.grants.find((g) => g.id === grant.id)?.status).toBe('expired');
  });
});

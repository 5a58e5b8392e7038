import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config } from '#shared/config.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeProviderApi, startFakeProviderApi } from '#test/helpers/fake-provider-api.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';

let api: TestApi;
let fake: FakeProviderApi;
let oauth: OAuthServer;

interface Account {
  id: string;
  provider: string;
  kind: string;
  label: string;
  owner: string | null;
  active: boolean;
  roundRobin: boolean;
  keyHint: string | null;
  endpoint: { type: string; baseUrl: string; apiVersion: string | null } | null;
  effort: string | null;
  status: string;
}
type Err = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

const KEYS = {
  claude: 'sk-ant-api03-claude-test-key-a1b2',
  codex: 'sk-proj-codex-test-key-c3d4',
  gemini: 'AIzaSy-gemini-test-key-e5f6',
  bob: 'bob_prod_test-key-g7h8',
  grok: 'xai-grok-test-key-i9j0',
} as const;

beforeAll(async () => {
  fake = await startFakeProviderApi();
  oauth = await startOAuthServer();
  for (const key of Object.values(KEYS)) fake.validKeys.add(key);
  const overrides = oauth.overrides() as Record<string, Record<string, unknown>>;
  const withApi = {
    claude: { ...overrides.claude, apiBaseUrl: fake.base },
    codex: { ...overrides.codex, apiBaseUrl: `${fake.base}/v1` },
    gemini: { ...overrides.gemini, apiBaseUrl: fake.base },
    grok: { ...overrides.grok, apiBaseUrl: `${fake.base}/v1` },
  };
  api = await startTestApi({ KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(withApi) });
});
afterAll(async () => {
  await api.stop();
  await fake.close();
  await oauth.close();
});

// No API key this file uses reaches the logs, the table (audit events included) or a response.
checkNoLeaksAfterEach(
  () => [
    ...Object.values(KEYS),
    'sk-ant-api03-second-key-zzzz',
    'sk-endpoint-key-0000',
    'sk-proj-revoked-key-9999',
    'xai-second-key-0000',
    'xai-active-test-key-1234',
    'xai-same-test-key-5678',
    'sk-proj-unchanged-key-3333',
    'sk-proj-partly-key-4444',
    'sk-proj-rotation-first-1111',
    'sk-proj-rotation-second-2222',
    'sk-proj-rotation-back-5555',
    'sk-proj-rotation-away-6666',
    'sk-proj-alice-own-key-7777',
    'sk-proj-alice-new-key-8888',
    'sk-proj-refused-key-9999',
    'sk-proj-tail-one-abcd',
    'sk-proj-tail-two-abcd',
    'sk-ant-api03-usage-view-1357',
  ],
  { table: () => api.tableDump(), responses: () => api.responses.join('\n') },
);

const addKey = (
  provider: string,
  body: Record<string, unknown>,
  as: 'admin' | 'alice' | 'bob' = 'admin',
  personal = false,
) =>
  api.call<{ account: Account } & Err>('POST', `${personal ? '/v1/me' : '/v1'}/providers/${provider}/accounts`, {
    body,
    as,
  });

/** One account.added and `renames` account.renamed events, each at its own time. */
async function auditedRenames(renames: number): Promise<void> {
  const { id } = (await addKey('grok', { kind: 'api_key', label: 'Audited', apiKey: KEYS.grok })).body.account;
  for (let i = 1; i <= renames; i++) {
    await api.call('PATCH', `/v1/providers/grok/accounts/${id}`, { body: { label: `Audited ${i}` } });
  }
}

describe('API-key accounts', () => {
  it.each(Object.entries(KEYS))(
    'adds a %s key: the secret goes to the vault, only its last four characters are shown',
    async (provider, key) => {
      const res = await addKey(provider, { kind: 'api_key', label: `${provider} key`, apiKey: key });
      expect(res.status).toBe(201);
      expect(res.body.account).toMatchObject({
        provider,
        kind: 'api_key',
        label: `${provider} key`,
        keyHint: `…${key.slice(-4)}`,
        active: true,
        roundRobin: false,
        endpoint: null,
        owner: null,
      });
      expect(JSON.stringify(res.body)).not.toContain(key);
      expect((await readSecret(`keyfleet/test/${provider}/${res.body.account.id}`)).value).toEqual({ api_key: key });
    },
  );

  it('makes only the first account of a provider active, and keeps several per provider', async () => {
    const first = await addKey('claude', { kind: 'api_key', label: 'First', apiKey: KEYS.claude });
    expect(first.body.account.active).toBe(true);
    const second = await addKey('claude', { kind: 'api_key', label: 'Second', apiKey: 'sk-ant-api03-second-key-zzzz' });
    expect(second.body.account.active).toBe(false);
    const provider = await api.call<{ provider: { accounts: Account[]; activeAccountId: string } }>(
      'GET',
      '/v1/providers/claude',
    );
    expect(provider.body.provider.accounts.map((a) => a.id).sort()).toEqual(
      [first.body.account.id, second.body.account.id].sort(),
    );
    expect(provider.body.provider.activeAccountId).toBe(first.body.account.id);
  });

  it('seeds the finance record from the first account', async () => {
    await addKey('claude', { kind: 'api_key', label: 'First', apiKey: KEYS.claude });
    const res = await api.call<{ records: { provider: string; billing: string; status: string }[] }>(
      'GET',
      '/v1/finance',
    );
    expect(res.body.records).toContainEqual({ provider: 'claude', billing: 'usage', status: 'incomplete' });
  });

  it.each([
    [{ kind: 'api_key', label: 'x', apiKey: 'short' }, 'body.apiKey'],
    [{ kind: 'api_key', label: 'x', apiKey: 'has a space inside' }, 'body.apiKey'],
    [{ kind: 'api_key', label: '', apiKey: 'sk-valid-key-123' }, 'body.label'],
    [{ kind: 'api_key', label: 'tab\there', apiKey: 'sk-valid-key-123' }, 'body.label'],
    [{ kind: 'oauth', label: 'x' }, 'body.kind'],
    [{ kind: 'api_key', label: 'x', apiKey: 'sk-valid-key-123', extra: 1 }, 'body'],
    [{ kind: 'none', label: 'x' }, 'body.endpoint'],
  ])('refuses %j with validation_failed and stores nothing', async (body, path) => {
    const before = await api.tableDump();
    const res = await addKey('codex', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details?.map((d) => d.path)).toContain(path);
    expect(res.body.error.message).not.toContain('sk-valid-key-123');
    expect(await api.tableDump()).toBe(before);
  });
});

describe('custom endpoints', () => {
  const endpointOf = async (provider: string, endpoint: unknown, kind = 'api_key') =>
    addKey(
      provider,
      kind === 'none'
        ? { kind, label: 'ep', endpoint }
        : { kind, label: 'ep', apiKey: 'sk-endpoint-key-0000', endpoint },
    );

  it('rewrites Azure URLs to the /openai/v1 Responses shape and keeps the api-version', async () => {
    const res = await endpointOf('codex', {
      type: 'azure',
      baseUrl:
        'https://contoso.openai.azure.com/openai/deployments/gpt-5/chat/completions?api-version=2025-04-01-preview',
    });
    expect(res.body.account.endpoint).toEqual({
      type: 'azure',
      baseUrl: 'https://contoso.openai.azure.com/openai/v1',
      apiVersion: '2025-04-01-preview',
    });
  });

  it('defaults LM Studio’s address for a local Responses server and normalises trailing slashes', async () => {
    expect((await endpointOf('codex', { type: 'responses_local' }, 'none')).body.account.endpoint).toEqual({
      type: 'responses_local',
      baseUrl: 'http://127.0.0.1:1234/v1',
      apiVersion: null,
    });
    expect(
      (await endpointOf('codex', { type: 'responses_hosted', baseUrl: 'https://litellm.example.com/v1/' })).body.account
        .endpoint,
    ).toEqual({
      type: 'responses_hosted',
      baseUrl: 'https://litellm.example.com/v1',
      apiVersion: null,
    });
  });

  it('accepts a keyless account for a local model server', async () => {
    const res = await endpointOf('claude', { type: 'custom', baseUrl: 'http://localhost:11434' }, 'none');
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({
      kind: 'none',
      keyHint: null,
      endpoint: { baseUrl: 'http://localhost:11434' },
    });
  });

  it.each([
    ['codex', { type: 'custom', baseUrl: 'http://api.example.com/v1' }, 'https'],
    ['codex', { type: 'custom', baseUrl: 'https://169.254.169.254/latest' }, 'link-local'],
    ['codex', { type: 'custom', baseUrl: 'http://169.254.169.254/' }, 'https'],
    ['codex', { type: 'custom', baseUrl: 'https://10.0.0.8/v1' }, 'private'],
    ['codex', { type: 'custom', baseUrl: 'https://user:pw@example.com' }, 'credentials'],
    ['codex', { type: 'custom' }, 'required'],
    ['claude', { type: 'azure', baseUrl: 'https://x.openai.azure.com' }, 'Codex endpoint preset'],
    ['claude', { type: 'custom', baseUrl: 'https://gw.example.com', apiVersion: 'v1' }, 'not used by'],
    ['codex', { type: 'azure', baseUrl: 'http://localhost:9/openai' }, 'https'],
  ])('refuses a %s endpoint %j', async (provider, endpoint, message) => {
    const res = await endpointOf(provider, endpoint);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain(message);
  });
});

describe('changing accounts', () => {
  let keyAccount: Account;
  let oauthAccount: Account;

  beforeEach(async () => {
    keyAccount = (await addKey('grok', { kind: 'api_key', label: 'Grok key 2', apiKey: 'xai-second-key-0000' })).body
      .account;
    const signIn = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
      'POST',
      '/v1/providers/codex/sign-ins',
      { body: {} },
    );
    const pasted = await oauth.authorize(signIn.body.signIn.authorizeUrl, 'pool1');
    oauthAccount = (
      await api.call<{ account: Account }>('POST', `/v1/sign-ins/${signIn.body.signIn.id}/complete`, {
        body: { redirectUrl: pasted },
      })
    ).body.account;
  });

  it('renames, and audits the rename', async () => {
    const res = await api.call<{ account: Account }>('PATCH', `/v1/providers/grok/accounts/${keyAccount.id}`, {
      body: { label: 'Renamed' },
    });
    expect(res.body.account.label).toBe('Renamed');
    const audit = await api.call<{ events: { action: string; accountId?: string; detail?: unknown }[] }>(
      'GET',
      '/v1/audit?limit=5',
    );
    expect(audit.body.events[0]).toMatchObject({
      action: 'account.renamed',
      accountId: keyAccount.id,
      detail: { from: 'Grok key 2', to: 'Renamed' },
    });
  });

  it('puts OAuth accounts in the round-robin pool but refuses API-key accounts', async () => {
    const refused = await api.call<Err>('PATCH', `/v1/providers/grok/accounts/${keyAccount.id}`, {
      body: { roundRobin: true },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('conflict');
    const pooled = await api.call<{ account: Account }>('PATCH', `/v1/providers/codex/accounts/${oauthAccount.id}`, {
      body: { roundRobin: true },
    });
    expect(pooled.body.account.roundRobin).toBe(true);
    const provider = await api.call<{ provider: { roundRobinAccountIds: string[] } }>('GET', '/v1/providers/codex');
    expect(provider.body.provider.roundRobinAccountIds).toEqual([oauthAccount.id]);
  });

  it('validates effort per provider', async () => {
    const ok = await api.call<{ account: Account }>('PATCH', `/v1/providers/codex/accounts/${oauthAccount.id}`, {
      body: { effort: 'xhigh' },
    });
    expect(ok.body.account.effort).toBe('xhigh');
    const bad = await api.call<Err>('PATCH', `/v1/providers/codex/accounts/${oauthAccount.id}`, {
      body: { effort: 'max' },
    });
    expect(bad.status).toBe(400);
    const empty = await api.call<Err>('PATCH', `/v1/providers/codex/accounts/${oauthAccount.id}`, { body: {} });
    expect(empty.status).toBe(400);
  });

  it('sets and clears the active account', async () => {
    const set = await api.call<{ provider: { activeAccountId: string | null; accounts: Account[] } }>(
      'PUT',
      '/v1/providers/grok/active',
      {
        body: { accountId: keyAccount.id },
      },
    );
    expect(set.body.provider.activeAccountId).toBe(keyAccount.id);
    expect(set.body.provider.accounts.find((a) => a.id === keyAccount.id)?.active).toBe(true);
    const cleared = await api.call<{ provider: { activeAccountId: string | null } }>(
      'PUT',
      '/v1/providers/grok/active',
      {
        body: { accountId: null },
      },
    );
    expect(cleared.body.provider.activeAccountId).toBeNull();
    expect(
      (await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: 'acc_00000000000000000000' } })).status,
    ).toBe(404);
  });

  it('removes an account with its secret, immediately, and leaves no active account', async () => {
    await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: keyAccount.id } });
    const res = await api.call('DELETE', `/v1/providers/grok/accounts/${keyAccount.id}`);
    expect(res.status).toBe(204);
    const described = await new SecretsManagerClient({})
      .send(new DescribeSecretCommand({ SecretId: `keyfleet/test/grok/${keyAccount.id}` }))
      .catch((e: unknown) => e);
    expect(described).toBeInstanceOf(ResourceNotFoundException);
    const provider = await api.call<{ provider: { activeAccountId: string | null; accounts: Account[] } }>(
      'GET',
      '/v1/providers/grok',
    );
    expect(provider.body.provider.activeAccountId).toBeNull();
    expect(provider.body.provider.accounts.map((a) => a.id)).not.toContain(keyAccount.id);
    expect((await api.call('DELETE', `/v1/providers/grok/accounts/${keyAccount.id}`)).status).toBe(404);
  });
});

describe('test action', () => {
  it.each([
    ['claude', '/v1/models', { 'x-api-key': KEYS.claude, 'anthropic-version': '2023-06-01' }],
    ['codex', '/v1/models', { authorization: `Bearer ${KEYS.codex}` }],
    ['gemini', '/v1beta/models', { 'x-goog-api-key': KEYS.gemini }],
    ['grok', '/v1/models', { authorization: `Bearer ${KEYS.grok}` }],
  ])('makes %s’s cheapest authenticated call with the stored key', async (provider, path, headers) => {
    const res = await addKey(provider, {
      kind: 'api_key',
      label: 'probe',
      apiKey: KEYS[provider as keyof typeof KEYS],
    });
    const before = fake.seen.length;
    const test = await api.call<{ ok: boolean; detail: string }>(
      'POST',
      `/v1/providers/${provider}/accounts/${res.body.account.id}/test`,
    );
    expect(test.body.ok).toBe(true);
    expect(test.body.detail).toContain('HTTP 200');
    const seen = fake.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.path).toBe(path);
    expect(seen[0]?.headers).toMatchObject(headers);
  });

  it('calls an Azure endpoint with api-key and api-version', async () => {
    const res = await addKey('codex', {
      kind: 'api_key',
      label: 'azure',
      apiKey: KEYS.codex,
      endpoint: { type: 'custom', baseUrl: `${fake.base}/openai/v1`, apiVersion: 'preview' },
    });
    const before = fake.seen.length;
    await api.call('POST', `/v1/providers/codex/accounts/${res.body.account.id}/test`);
    expect(fake.seen[before]).toMatchObject({ path: '/openai/v1/models', query: { 'api-version': 'preview' } });
  });

  it('reports a refused key without echoing it', async () => {
    const res = await addKey('codex', { kind: 'api_key', label: 'bad', apiKey: 'sk-proj-revoked-key-9999' });
    const test = await api.call<{ ok: boolean; detail: string }>(
      'POST',
      `/v1/providers/codex/accounts/${res.body.account.id}/test`,
    );
    expect(test.body).toEqual({
      ok: false,
      detail: 'The endpoint refused the key: HTTP 401.',
    });
  });

  it('checks that a keyless endpoint answers', async () => {
    const res = await addKey('codex', {
      kind: 'none',
      label: 'local',
      endpoint: { type: 'responses_local', baseUrl: `${fake.base}/v1` },
    });
    const test = await api.call<{ ok: boolean; detail: string }>(
      'POST',
      `/v1/providers/codex/accounts/${res.body.account.id}/test`,
    );
    expect(test.body.ok).toBe(true);
    expect(test.body.detail).toMatch(/^Reachable/);
  });

  it('refreshes an OAuth account through the refresh routine, rotating the stored refresh token', async () => {
    const signIn = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
      'POST',
      '/v1/providers/codex/sign-ins',
      { body: {} },
    );
    const pasted = await oauth.authorize(signIn.body.signIn.authorizeUrl, 'tester');
    const account = (
      await api.call<{ account: Account }>('POST', `/v1/sign-ins/${signIn.body.signIn.id}/complete`, {
        body: { redirectUrl: pasted },
      })
    ).body.account;
    const before = (await readSecret(`keyfleet/test/codex/${account.id}`)).value.refresh_token;
    const test = await api.call<{ ok: boolean; detail: string }>(
      'POST',
      `/v1/providers/codex/accounts/${account.id}/test`,
    );
    expect(test.body).toEqual({ ok: true, detail: 'Refreshed the access token.' });
    const after = (await readSecret(`keyfleet/test/codex/${account.id}`)).value.refresh_token;
    expect(after).not.toBe(before);
    expect(oauth.requests.at(-1)?.body).toMatchObject({ grant_type: 'refresh_token', refresh_token: before });
  });
});

describe('Bob without OAuth configuration', () => {
  it('answers conflict explaining what to configure, and still takes API keys', async () => {
    const res = await api.call<Err>('POST', '/v1/providers/bob/sign-ins', { body: {} });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('KEYFLEET_PROVIDER_OVERRIDES');
  });
});

describe('personal accounts and roles', () => {
  it('lets a member manage their own accounts but not others’, and never pool them', async () => {
    const mine = await addKey('gemini', { kind: 'api_key', label: 'Alice key', apiKey: KEYS.gemini }, 'alice', true);
    expect(mine.status).toBe(201);
    expect(mine.body.account).toMatchObject({ owner: 'alice', active: true });
    const id = mine.body.account.id;

    expect(
      (await api.call('PATCH', `/v1/me/providers/gemini/accounts/${id}`, { as: 'bob', body: { label: 'x' } })).status,
    ).toBe(404);
    expect((await api.call('DELETE', `/v1/me/providers/gemini/accounts/${id}`, { as: 'bob' })).status).toBe(404);
    expect((await api.call('POST', `/v1/me/providers/gemini/accounts/${id}/test`, { as: 'bob' })).status).toBe(404);
    expect(
      (await api.call('PUT', '/v1/me/providers/gemini/active', { as: 'bob', body: { accountId: id } })).status,
    ).toBe(404);
    expect(
      (await api.call('PATCH', `/v1/providers/gemini/accounts/${id}`, { body: { label: 'admin edit' } })).status,
    ).toBe(403);

    const renamed = await api.call<{ account: Account }>('PATCH', `/v1/me/providers/gemini/accounts/${id}`, {
      as: 'alice',
      body: { label: 'Mine' },
    });
    expect(renamed.body.account.label).toBe('Mine');
    expect((await api.call('DELETE', `/v1/me/providers/gemini/accounts/${id}`, { as: 'alice' })).status).toBe(204);
  });

  it.each([
    ['POST', '/v1/providers/claude/accounts'],
    ['PUT', '/v1/providers/claude/active'],
    ['GET', '/v1/audit'],
    ['GET', '/v1/finance'],
    ['PATCH', '/v1/finance/claude'],
  ])('refuses members on %s %s', async (method, path) => {
    const res = await api.call<Err>(method, path, { as: 'alice', body: method === 'GET' ? undefined : {} });
    expect(res.status).toBe(403);
  });
});

describe('audit and finance', () => {
  it('pages through audit events newest first', async () => {
    await auditedRenames(5);
    const first = await api.call<{ events: { at: string; action: string }[]; next?: string }>(
      'GET',
      '/v1/audit?limit=2',
    );
    expect(first.body.events).toHaveLength(2);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api.call<{ events: { at: string }[] }>(
      'GET',
      `/v1/audit?limit=2&before=${encodeURIComponent(first.body.next ?? '')}`,
    );
    expect(second.body.events).toHaveLength(2);
    expect((second.body.events[0]?.at ?? '') <= (first.body.events[1]?.at ?? '')).toBe(true);
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'unknown=1']) {
      expect((await api.call('GET', `/v1/audit?${bad}`)).status, bad).toBe(400);
    }
  });

  it('updates finance records partially and validates them', async () => {
    await addKey('claude', { kind: 'api_key', label: 'Billed', apiKey: KEYS.claude });
    const res = await api.call<{ record: Record<string, unknown> }>('PATCH', '/v1/finance/claude', {
      body: { status: 'complete', plan: 'API', monthlyBudgetUsd: 500, costCenter: 'RND-42' },
    });
    expect(res.body.record).toEqual({
      provider: 'claude',
      billing: 'usage',
      status: 'complete',
      plan: 'API',
      monthlyBudgetUsd: 500,
      costCenter: 'RND-42',
    });
    const cleared = await api.call<{ record: Record<string, unknown> }>('PATCH', '/v1/finance/claude', {
      body: { plan: null },
    });
    expect(cleared.body.record.plan).toBeUndefined();
    expect((await api.call('PATCH', '/v1/finance/claude', { body: { monthlyBudgetUsd: -1 } })).status).toBe(400);
    expect((await api.call('PATCH', '/v1/finance/mistral', { body: { plan: 'x' } })).status).toBe(404);
  });
});

describe('contract gaps: active account, no-op changes, audit paging, key rotation', () => {
  interface Event {
    at: string;
    action: string;
    accountId?: string;
    detail?: Record<string, unknown>;
  }
  const auditPage = async (query: string) =>
    (await api.call<{ events: Event[]; next?: string } & Err>('GET', `/v1/audit?${query}`)).body;
  const latest = async () => (await auditPage('limit=1')).events[0];

  it('regression: clearing the active account is audited as account.deactivated, not account.activated', async () => {
    const a = (await addKey('grok', { kind: 'api_key', label: 'Grok active', apiKey: 'xai-active-test-key-1234' })).body
      .account;
    await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: a.id } });
    const cleared = await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: null } });
    expect(cleared.status).toBe(200);
    expect(await latest()).toMatchObject({
      action: 'account.deactivated',
      accountId: a.id,
      detail: { owner: null },
    });
    const activated = await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: a.id } });
    expect(activated.status).toBe(200);
    expect(await latest()).toMatchObject({
      action: 'account.activated',
      accountId: a.id,
      detail: { owner: null, previousAccountId: null },
    });
  });

  it('records nothing when the active account is set to what it already is', async () => {
    const a = (await addKey('grok', { kind: 'api_key', label: 'Grok same', apiKey: 'xai-same-test-key-5678' })).body
      .account;
    await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: a.id } });
    const before = await api.tableDump();
    expect((await api.call('PUT', '/v1/providers/grok/active', { body: { accountId: a.id } })).status).toBe(200);
    expect(await api.tableDump()).toBe(before);
  });

  it('regression: a PATCH that changes nothing writes no audit event and nothing else', async () => {
    const endpoint = { type: 'custom', baseUrl: `${fake.base}/v1`, apiVersion: null };
    const a = (
      await addKey('codex', { kind: 'api_key', label: 'Unchanged', apiKey: 'sk-proj-unchanged-key-3333', endpoint })
    ).body.account;
    const before = await api.tableDump();
    const res = await api.call<{ account: Account & { updatedAt: string } }>(
      'PATCH',
      `/v1/providers/codex/accounts/${a.id}`,
      { body: { label: 'Unchanged', roundRobin: false, endpoint, effort: null, apiKey: 'sk-proj-unchanged-key-3333' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.account).toEqual(a);
    expect(await api.tableDump()).toBe(before);
  });

  it('audits only the fields a PATCH actually changes', async () => {
    const a = (await addKey('codex', { kind: 'api_key', label: 'Partly', apiKey: 'sk-proj-partly-key-4444' })).body
      .account;
    const head = (await latest())?.at ?? '';
    const res = await api.call<{ account: Account }>('PATCH', `/v1/providers/codex/accounts/${a.id}`, {
      body: { label: 'Partly', effort: 'xhigh' },
    });
    expect(res.body.account).toMatchObject({ label: 'Partly', effort: 'xhigh' });
    const events = (await auditPage('limit=10')).events.filter((e) => e.at > head || e.accountId === a.id);
    expect(events.map((e) => e.action)).toEqual(['account.updated', 'account.added']);
  });

  it('regression: the audit next cursor is URL-safe (no #) and pages through every event once', async () => {
    await auditedRenames(13);
    const all = (await auditPage('limit=30')).events;
    const paged: Event[] = [];
    let next: string | undefined;
    do {
      const page = await auditPage(`limit=4${next ? `&before=${next}` : ''}`);
      paged.push(...page.events);
      next = page.next;
      if (next !== undefined) expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (next && paged.length < all.length);
    expect(paged.slice(0, all.length)).toEqual(all);
  });

  it('answers no next on the last page', async () => {
    await auditedRenames(3);
    const all = (await auditPage('limit=100')).events;
    expect(all).toHaveLength(4);
    const page = await auditPage(`limit=${all.length}`);
    expect(page.events).toHaveLength(all.length);
    expect(page.next).toBeUndefined();
  });

  it('takes an ISO time as before= and returns only older events', async () => {
    await auditedRenames(15);
    const events = (await auditPage('limit=20')).events;
    const pivot = events[10]?.at ?? '';
    const older = (await auditPage(`limit=20&before=${encodeURIComponent(pivot)}`)).events;
    expect(older).toEqual(events.filter((e) => e.at < pivot));
    expect(older.length).toBeGreaterThan(0);
  });

  it.each([
    'yesterday',
    '2026-02-31',
    '2026-11-22T10:00:00.000Z%230a1b2c3d4e5f',
    'eyJwayI6IlBST1ZJREVSI2NsYXVkZSIsInNrIjoiU0VUVElOR1MifQ',
  ])('regression: ?before=%s (neither a cursor nor a time) answers 400 validation_failed', async (before) => {
    const res = await api.call<Err>('GET', `/v1/audit?limit=5&before=${before}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual([
      { path: 'query.before', message: 'must be the next value of a previous page or an ISO-8601 time' },
    ]);
  });

  it('regression: a settings PATCH that changes nothing writes no audit event and nothing else', async () => {
    const current = (
      await api.call<{ defaultAgent: string; keepalive: { grok: { intervalHours: number } } }>('GET', '/v1/settings')
    ).body;
    const before = await api.tableDump();
    const res = await api.call('PATCH', '/v1/settings', {
      body: {
        defaultAgent: current.defaultAgent,
        keepalive: { grok: { intervalHours: current.keepalive.grok.intervalHours } },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(current);
    expect(await api.tableDump()).toBe(before);
  });

  it('audits only the settings a PATCH actually changes', async () => {
    const res = await api.call<{ keepalive: { grok: { enabled: boolean; intervalHours: number } } }>(
      'PATCH',
      '/v1/settings',
      { body: { defaultAgent: 'claude', keepalive: { grok: { enabled: true, intervalHours: 9 } } } },
    );
    expect(res.body.keepalive.grok).toMatchObject({ enabled: true, intervalHours: 9 });
    expect(await latest()).toMatchObject({
      action: 'settings.changed',
      detail: { keepalive: { grok: { intervalHours: 9 } } },
    });
    expect((await latest())?.detail).toEqual({ keepalive: { grok: { intervalHours: 9 } } });
  });

  it('regression: a finance change is audited as finance.changed with only what differs; no change records nothing', async () => {
    await addKey('grok', { kind: 'api_key', label: 'Billed', apiKey: KEYS.grok });
    await api.call('PATCH', '/v1/finance/grok', { body: { plan: 'SuperGrok', costCenter: 'OPS-1' } });
    const res = await api.call<{ record: Record<string, unknown> }>('PATCH', '/v1/finance/grok', {
      body: { plan: 'SuperGrok', costCenter: 'OPS-2' },
    });
    expect(res.body.record).toMatchObject({ provider: 'grok', plan: 'SuperGrok', costCenter: 'OPS-2' });
    const event = await latest();
    expect(event).toMatchObject({ action: 'finance.changed', detail: { costCenter: 'OPS-2' } });
    expect(event?.detail).toEqual({ costCenter: 'OPS-2' });
    const before = await api.tableDump();
    const same = await api.call('PATCH', '/v1/finance/grok', { body: { plan: 'SuperGrok', owner: null } });
    expect(same.status).toBe(200);
    expect(await api.tableDump()).toBe(before);
  });

  it.each([
    ['PATCH', '/v1/providers/claude/accounts/{id}', { label: 'x' }],
    ['DELETE', '/v1/providers/claude/accounts/{id}', undefined],
    ['PUT', '/v1/providers/claude/active', 'body'],
  ])(
    'regression: a token pasted as an account id is not repeated in the answer (%s %s)',
    async (method, path, body) => {
      const pasted = `kft_${'Q7'.repeat(21)}x`;
      const res = await api.call<Err>(method, path.replace('{id}', pasted), {
        ...(body === 'body' ? { body: { accountId: pasted } } : body ? { body } : {}),
      });
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({
        code: 'not_found',
        message: 'No claude account with that id (account ids are acc_ and 20 hex digits).',
      });
    },
  );

  it('shows an account’s stored allowance, cooldown and last use, and only the API’s part of the allowance', async () => {
    const a = (await addKey('claude', { kind: 'api_key', label: 'Usage view', apiKey: 'sk-ant-api03-usage-view-1357' }))
      .body.account;
    expect(a).toMatchObject({ cooldownUntil: null, lastUsedAt: null, usage: null });
    const usage = {
      plan: 'max',
      readAt: '2026-11-22T10:00:00.000Z',
      windows: [
        { name: 'five_hour', usedPercent: 61, resetsAt: '2026-11-22T12:00:00.000Z' },
        { name: 'broken', usedPercent: 'lots' },
      ],
      credits: { enabled: true, unlimited: false, balance: '12.50', used: 3, monthlyLimit: 50 },
    };
    await documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: { pk: 'PROVIDER#claude', sk: `ACCOUNT#${a.id}` },
        UpdateExpression: 'SET #u = :u, lastUsedAt = :l, cooldownUntil = :c',
        ExpressionAttributeNames: { '#u': 'usage' },
        ExpressionAttributeValues: {
          ':u': usage,
          ':l': '2026-11-22T09:00:00.000Z',
          ':c': '2026-11-22T11:00:00.000Z',
        },
      }),
    );
    const view = (
      await api.call<{ provider: { accounts: Record<string, unknown>[] } }>('GET', '/v1/providers/claude')
    ).body.provider.accounts.find((x) => x.id === a.id);
    expect(view).toMatchObject({
      cooldownUntil: '2026-11-22T11:00:00.000Z',
      lastUsedAt: '2026-11-22T09:00:00.000Z',
      usage: {
        plan: 'max',
        readAt: '2026-11-22T10:00:00.000Z',
        windows: [{ name: 'five_hour', usedPercent: 61, resetsAt: '2026-11-22T12:00:00.000Z' }],
      },
    });
    expect(view?.usage).not.toHaveProperty('credits');
  });

  it('reads and changes the round robin’s usage threshold per provider, within 1–100', async () => {
    const before = await api.call<{ pool: Record<string, { skipAbovePercent: number }> }>('GET', '/v1/settings');
    expect(before.body.pool).toEqual({
      claude: { skipAbovePercent: 95 },
      codex: { skipAbovePercent: 95 },
      gemini: { skipAbovePercent: 95 },
      bob: { skipAbovePercent: 95 },
      grok: { skipAbovePercent: 95 },
    });
    const changed = await api.call<{ pool: Record<string, { skipAbovePercent: number }> }>('PATCH', '/v1/settings', {
      body: { pool: { gemini: { skipAbovePercent: 80 } } },
    });
    expect(changed.body.pool.gemini).toEqual({ skipAbovePercent: 80 });
    expect(await latest()).toMatchObject({
      action: 'settings.changed',
      detail: { pool: { gemini: { skipAbovePercent: 80 } } },
    });
    for (const bad of [0, 101, '90']) {
      const res = await api.call<Err>('PATCH', '/v1/settings', {
        body: { pool: { gemini: { skipAbovePercent: bad } } },
      });
      expect(res.status, String(bad)).toBe(400);
      expect(res.body.error.details?.[0]?.path).toBe('body.pool.gemini.skipAbovePercent');
    }
  });

  it('regression: PATCH apiKey replaces an API-key account’s key in place as a new secret version', async () => {
    const [first, second] = ['sk-proj-rotation-first-1111', 'sk-proj-rotation-second-2222'];
    fake.validKeys.add(second);
    const a = (await addKey('codex', { kind: 'api_key', label: 'Rotating', apiKey: first })).body.account;
    const name = `keyfleet/test/codex/${a.id}`;
    const v1 = (await readSecret(name)).versionId;
    const res = await api.call<{ account: Account }>('PATCH', `/v1/providers/codex/accounts/${a.id}`, {
      body: { apiKey: second },
    });
    expect(res.status).toBe(200);
    expect(res.body.account).toMatchObject({ id: a.id, kind: 'api_key', label: 'Rotating', keyHint: '…2222' });
    const stored = await readSecret(name);
    expect(stored.value).toEqual({ api_key: second });
    expect(stored.versionId).not.toBe(v1);
    const event = await latest();
    expect(event).toMatchObject({
      action: 'account.key_rotated',
      accountId: a.id,
      detail: { from: '…1111', to: '…2222' },
    });
    expect(JSON.stringify(event)).not.toContain(second);
    const seen = fake.seen.length;
    const test = await api.call<{ ok: boolean }>('POST', `/v1/providers/codex/accounts/${a.id}/test`);
    expect(test.body.ok).toBe(true);
    expect(fake.seen[seen]?.headers).toMatchObject({ authorization: `Bearer ${second}` });
  });

  it('makes a rotation back to an earlier key current again', async () => {
    const [first, second] = ['sk-proj-rotation-back-5555', 'sk-proj-rotation-away-6666'];
    const a = (await addKey('codex', { kind: 'api_key', label: 'Back', apiKey: first })).body.account;
    const name = `keyfleet/test/codex/${a.id}`;
    const versions = [(await readSecret(name)).versionId];
    for (const key of [second, first]) {
      await api.call('PATCH', `/v1/providers/codex/accounts/${a.id}`, { body: { apiKey: key } });
      const stored = await readSecret(name);
      expect(stored.value).toEqual({ api_key: key });
      versions.push(stored.versionId);
    }
    expect(new Set(versions).size).toBe(3);
  });

  it('rotates to a key with the same last four characters: a new version, and audited', async () => {
    const a = (await addKey('codex', { kind: 'api_key', label: 'Same tail', apiKey: 'sk-proj-tail-one-abcd' })).body
      .account;
    const name = `keyfleet/test/codex/${a.id}`;
    const v1 = (await readSecret(name)).versionId;
    const res = await api.call<{ account: Account }>('PATCH', `/v1/providers/codex/accounts/${a.id}`, {
      body: { apiKey: 'sk-proj-tail-two-abcd' },
    });
    expect(res.body.account.keyHint).toBe('…abcd');
    const stored = await readSecret(name);
    expect(stored.value).toEqual({ api_key: 'sk-proj-tail-two-abcd' });
    expect(stored.versionId).not.toBe(v1);
    expect(await latest()).toMatchObject({
      action: 'account.key_rotated',
      accountId: a.id,
      detail: { from: '…abcd', to: '…abcd' },
    });
  });

  it('lets a member rotate the key of their own account', async () => {
    const mine = (
      await addKey('codex', { kind: 'api_key', label: 'Mine', apiKey: 'sk-proj-alice-own-key-7777' }, 'alice', true)
    ).body.account;
    const res = await api.call<{ account: Account }>('PATCH', `/v1/me/providers/codex/accounts/${mine.id}`, {
      body: { apiKey: 'sk-proj-alice-new-key-8888' },
      as: 'alice',
    });
    expect(res.body.account.keyHint).toBe('…8888');
    expect((await readSecret(`keyfleet/test/codex/${mine.id}`)).value).toEqual({
      api_key: 'sk-proj-alice-new-key-8888',
    });
  });

  it('refuses a new API key for OAuth and keyless accounts with 409 conflict and changes nothing', async () => {
    const signIn = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
      'POST',
      '/v1/providers/codex/sign-ins',
      { body: {} },
    );
    const pasted = await oauth.authorize(signIn.body.signIn.authorizeUrl, 'rotator');
    const oauthAccount = (
      await api.call<{ account: Account }>('POST', `/v1/sign-ins/${signIn.body.signIn.id}/complete`, {
        body: { redirectUrl: pasted },
      })
    ).body.account;
    const keyless = (
      await addKey('codex', {
        kind: 'none',
        label: 'Keyless',
        endpoint: { type: 'custom', baseUrl: `${fake.base}/v1` },
      })
    ).body.account;
    for (const id of [oauthAccount.id, keyless.id]) {
      const before = await api.tableDump();
      const res = await api.call<Err>('PATCH', `/v1/providers/codex/accounts/${id}`, {
        body: { label: 'Renamed too', apiKey: 'sk-proj-refused-key-9999' },
      });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('conflict');
      expect(await api.tableDump()).toBe(before);
    }
    const bad = await api.call<Err>('PATCH', `/v1/providers/codex/accounts/${keyless.id}`, {
      body: { apiKey: 'short' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details?.map((d) => d.path)).toEqual(['body.apiKey']);
  });
});

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { grantFromRedeemed, jwtExpiry, type RedeemedProfile, Secret } from '#shared/proxy/grant.ts';
import { fakeJwt, ticketProfile } from '#test/helpers/proxy-profiles.ts';

const UPSTREAM = 'http://127.0.0.1:4555';
const base = { upstream: UPSTREAM, taskToken: 'task-token-0001', accountId: 'acct_1', model: 'm-1' };
const hrefs = (urls: URL[]) => urls.map((u) => u.href);

describe('grantFromRedeemed', () => {
  it('claude: OAuth and API-key accounts, upstream from the profile’s base URL', () => {
    const oauth = grantFromRedeemed(
      ticketProfile('claude', 'oauth', { ...base, credential: 'sk-ant-oat01-x', effort: 'high' }),
    );
    expect(oauth).toMatchObject({
      provider: 'claude',
      kind: 'oauth',
      credentialExpiresAt: null,
      model: 'm-1',
      effort: 'high',
    });
    expect(oauth.credential.reveal()).toBe('sk-ant-oat01-x');
    expect(hrefs(oauth.upstreams)).toEqual([`${UPSTREAM}/`]);
    const key = grantFromRedeemed(ticketProfile('claude', 'api_key', { ...base, credential: 'sk-ant-api03-y' }));
    expect(key).toMatchObject({ kind: 'api_key', accountId: null });
    expect(key.credential.reveal()).toBe('sk-ant-api03-y');
  });

  it('codex: ChatGPT tokens with their JWT expiry, account id and both base URLs', () => {
    const access = fakeJwt({ exp: 2_000_000_000 });
    const grant = grantFromRedeemed(ticketProfile('codex', 'oauth', { ...base, credential: access, effort: 'low' }));
    expect(grant).toMatchObject({
      provider: 'codex',
      kind: 'oauth',
      accountId: 'acct_1',
      credentialExpiresAt: 2_000_000_000_000,
      effort: 'low',
    });
    expect(hrefs(grant.upstreams)).toEqual([`${UPSTREAM}/backend-api/codex`, `${UPSTREAM}/backend-api/`]);
  });

  it('codex: an API key on a custom or Azure endpoint keeps its api-version query parameter', () => {
    const grant = grantFromRedeemed(
      ticketProfile('codex', 'api_key', { ...base, credential: 'sk-proj-z', apiVersion: '2025-04-01-preview' }),
    );
    expect(grant.credential.reveal()).toBe('sk-proj-z');
    expect(hrefs(grant.upstreams)).toEqual([`${UPSTREAM}/v1`]);
    expect(grant.queryParams).toEqual({ 'api-version': '2025-04-01-preview' });
  });

  it('codex: an API key on OpenAI’s own endpoint goes to api.openai.com/v1', () => {
    const profile: RedeemedProfile = {
      provider: 'codex',
      taskToken: 't',
      expiresAt: '2026-11-22T13:00:00.000Z',
      env: {},
      files: [{ path: '.codex/auth.json', mode: 384, content: '{"OPENAI_API_KEY":"sk-proj-default"}' }],
    };
    const grant = grantFromRedeemed(profile);
    expect([grant.kind, grant.credential.reveal(), hrefs(grant.upstreams)]).toEqual([
      'api_key',
      'sk-proj-default',
      ['https://api.openai.com/v1'],
    ]);
  });

  it('gemini: a long task’s oauth_creds.json gives the access token and expiry only, never the refresh token', () => {
    const profile = ticketProfile('gemini', 'oauth', {
      ...base,
      credential: 'ya29.access',
      refreshToken: '1//refresh-must-not-be-kept',
      deliverRefreshToken: true,
      expiresAt: 1_900_000_000_000,
    });
    const grant = grantFromRedeemed(profile);
    expect(grant).toMatchObject({ kind: 'oauth', credentialExpiresAt: 1_900_000_000_000 });
    expect(grant.credential.reveal()).toBe('ya29.access');
    expect(JSON.stringify(grant)).not.toContain('refresh-must-not-be-kept');
    expect(inspect(grant, { depth: 5 })).not.toContain('refresh-must-not-be-kept');
  });

  it('gemini: an API key goes to the account’s base URL', () => {
    const grant = grantFromRedeemed(ticketProfile('gemini', 'api_key', { ...base, credential: 'AIzaKey' }));
    expect([grant.kind, grant.credential.reveal(), hrefs(grant.upstreams)]).toEqual([
      'api_key',
      'AIzaKey',
      [`${UPSTREAM}/`],
    ]);
  });

  it('refuses providers and accounts the proxy does not serve, and plain http to other hosts', () => {
    const bare = { taskToken: 't', expiresAt: 'x', files: [] };
    expect(() => grantFromRedeemed({ ...bare, provider: 'grok', env: { XAI_API_KEY: 'k' } })).toThrow(
      'keyfleet proxy: provider "grok" cannot be served through the proxy',
    );
    expect(() =>
      grantFromRedeemed({ ...bare, provider: 'claude', env: { ANTHROPIC_AUTH_TOKEN: 'keyfleet-keyless' } }),
    ).toThrow('keyfleet proxy: the claude profile carries no credential (keyless accounts need none)');
    expect(() =>
      grantFromRedeemed({
        ...bare,
        provider: 'claude',
        env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://example.com' },
      }),
    ).toThrow('keyfleet proxy: the upstream must use https:// (http:// is accepted only for loopback hosts)');
  });

  it('regression: refuses an https upstream at a metadata or private address, as a saved endpoint would be', () => {
    const bare = { taskToken: 't', expiresAt: 'x', files: [] };
    for (const base of ['https://169.254.169.254/', 'https://[::ffff:a9fe:a9fe]/', 'https://10.0.0.5/v1']) {
      expect(() =>
        grantFromRedeemed({ ...bare, provider: 'claude', env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: base } }),
      ).toThrow(/^keyfleet proxy: the upstream /);
    }
  });
});

describe('Secret', () => {
  it('prints as [secret] in JSON, inspect and strings', () => {
    const secret = new Secret('sk-live-value');
    expect([JSON.stringify({ secret }), inspect(secret), `${secret}`]).toEqual([
      '{"secret":"[secret]"}',
      '[secret]',
      '[secret]',
    ]);
    expect(secret.reveal()).toBe('sk-live-value');
  });
});

describe('jwtExpiry', () => {
  it('reads exp in ms, and null for tokens that are not JWTs', () => {
    expect(jwtExpiry(fakeJwt({ exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    expect(jwtExpiry('sk-ant-oat01-abc')).toBeNull();
    expect(jwtExpiry('a.bm90LWpzb24.c')).toBeNull();
  });
});

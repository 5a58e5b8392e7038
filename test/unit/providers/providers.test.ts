import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/errors.ts';
import { buildProviders, isOpenIdProvider, oauthConfigured, refreshTokenShareable } from '#shared/providers/index.ts';
import { CLIENT_BEHAVIOUR } from '#test/helpers/oauth-server.ts';

describe('built-in providers', () => {
  const providers = buildProviders({});

  it('gives every provider the helpers support a model and every provider an API shape the builder knows', () => {
    for (const provider of providers.values()) {
      if (provider.helpers) expect(provider.helperModel, provider.id).toMatch(/\S/);
      expect(['anthropic', 'openai', 'gemini'], provider.id).toContain(provider.apiDialect);
    }
  });

  it('lets only a non-rotating refresh token be shared (Gemini); rotating or unknown ones never', () => {
    expect([...providers.values()].filter(refreshTokenShareable).map((p) => p.id)).toEqual(['gemini']);
  });

  it('asks for an ID token only from providers whose scopes include openid', () => {
    expect([...providers.values()].filter(isOpenIdProvider).map((p) => p.id)).toEqual(['codex', 'grok']);
    const plain = buildProviders({ grok: { scopes: ['grok-cli:access'] } }).get('grok');
    expect(plain && isOpenIdProvider(plain)).toBe(false);
  });

  it('matches the test OAuth server’s clients to the rotation facts, so tests meet each provider’s real behaviour', () => {
    for (const provider of providers.values()) {
      const client = CLIENT_BEHAVIOUR[provider.id];
      // Unknown rotation (Bob) is tested against the strict case: single use, reuse revokes.
      expect(client.rotatesRefreshTokens, provider.id).toBe(provider.refreshTokenRotates ?? true);
    }
  });

  it('treats Bob as unconfigured for OAuth until endpoints are given', () => {
    expect(oauthConfigured(providers.get('bob') ?? (undefined as never))).toBe(false);
    expect(oauthConfigured(providers.get('grok') ?? (undefined as never))).toBe(true);
  });
});

describe('provider overrides', () => {
  it('replaces only the fields given and keeps the rest', () => {
    const providers = buildProviders({
      claude: { tokenEndpoint: 'http://127.0.0.1:4010/token', scopes: ['user:inference'] },
    });
    const claude = providers.get('claude');
    expect(claude?.oauth.tokenEndpoint).toBe('http://127.0.0.1:4010/token');
    expect(claude?.oauth.scopes).toEqual(['user:inference']);
    expect(claude?.oauth.authorizationEndpoint).toBe('https://claude.ai/oauth/authorize');
    expect(providers.get('codex')?.oauth.tokenEndpoint).toBe('https://auth.openai.com/oauth/token');
  });

  it('configures Bob completely from overrides', () => {
    const bob = buildProviders({
      bob: {
        authorizationEndpoint: 'https://sso.example.com/authorize',
        tokenEndpoint: 'https://sso.example.com/token',
        clientId: 'bob-client',
        redirectUri: 'http://localhost:7777/callback',
        refreshLeadMinutes: 30,
      },
    }).get('bob');
    expect(bob && oauthConfigured(bob)).toBe(true);
    expect(bob?.refreshLeadMinutes).toBe(30);
  });

  it.each([
    [{ claude: { tokenEndpoint: 'http://auth.example.com/token' } }, /claude\.tokenEndpoint: URL must use https/],
    [{ claude: { tokenEndpoint: 'ftp://example.com' } }, /must use https/],
    [{ claude: { tokenEndpont: 'https://x.example' } }, /Unrecognized key/],
    [{ mistral: { clientId: 'x' } }, /mistral/],
    [{ grok: { refreshLeadMinutes: 0 } }, /grok\.refreshLeadMinutes/],
    [[], /expected record/i],
  ])('refuses %j loudly', (overrides, message) => {
    expect(() => buildProviders(overrides)).toThrow(ConfigError);
    expect(() => buildProviders(overrides)).toThrow(message);
  });

  it('accepts http:// only for loopback hosts', () => {
    for (const host of ['127.0.0.1:9000', 'localhost:9000', '[::1]:9000']) {
      expect(buildProviders({ grok: { issuer: `http://${host}` } }).get('grok')?.oauth.issuer).toBe(`http://${host}`);
    }
  });
});

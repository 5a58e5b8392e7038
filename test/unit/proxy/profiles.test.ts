import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { jwtExpiry } from '#shared/proxy/grant.ts';
import { newPlaceholder, type ProxyProfileInput, proxyProfile } from '#shared/proxy/profiles.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');
const PROXY = 'http://127.0.0.1:8790';

function input(overrides: Partial<ProxyProfileInput>): ProxyProfileInput {
  return {
    provider: 'claude',
    kind: 'oauth',
    proxyUrl: PROXY,
    upstreams: [new URL('https://api.anthropic.com')],
    placeholder: 'PLACEHOLDER-0123456789abcdefghij',
    model: null,
    effort: null,
    queryParams: {},
    now: NOW,
    ...overrides,
  };
}

const fileOf = (profile: { files: { path: string; content: string }[] }, path: string) =>
  profile.files.find((f) => f.path === path)?.content ?? '';

describe('proxyProfile', () => {
  it('claude OAuth: placeholder CLAUDE_CODE_OAUTH_TOKEN, the proxy as ANTHROPIC_BASE_URL, outside traffic off', () => {
    const profile = proxyProfile(input({ model: 'claude-x', effort: 'high' }));
    expect(profile.env).toEqual({
      CLAUDE_CODE_OAUTH_TOKEN: 'PLACEHOLDER-0123456789abcdefghij',
      ANTHROPIC_BASE_URL: PROXY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
      CLAUDE_CODE_EFFORT_LEVEL: 'high',
      ANTHROPIC_MODEL: 'claude-x',
    });
    expect(JSON.parse(fileOf(profile, '.claude.json'))).toEqual({ hasCompletedOnboarding: true });
  });

  it('claude API key: placeholder ANTHROPIC_API_KEY, pre-approved by its last 20 characters', () => {
    const profile = proxyProfile(input({ kind: 'api_key' }));
    expect(profile.env.ANTHROPIC_API_KEY).toBe('PLACEHOLDER-0123456789abcdefghij');
    expect(profile.env.CLAUDE_CODE_OAUTH_TOKEN).toBeUndefined();
    expect(JSON.parse(fileOf(profile, '.claude.json'))).toEqual({
      hasCompletedOnboarding: true,
      customApiKeyResponses: { approved: ['0123456789abcdefghij'], rejected: [] },
    });
  });

  it('codex ChatGPT: a custom provider with requires_openai_auth, chatgpt_base_url and a placeholder auth.json', () => {
    const placeholder = newPlaceholder('codex', 'oauth', NOW);
    const profile = proxyProfile(
      input({
        provider: 'codex',
        placeholder,
        upstreams: [new URL('https://chatgpt.com/backend-api/codex'), new URL('https://chatgpt.com/backend-api/')],
        effort: 'medium',
      }),
    );
    expect(profile.env).toEqual({ CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${PROXY}/_keyfleet/codex/token` });
    expect(parseToml(fileOf(profile, '.codex/config.toml'))).toEqual({
      model_provider: 'keyfleet',
      chatgpt_base_url: `${PROXY}/backend-api/`,
      check_for_update_on_startup: false,
      model_reasoning_effort: 'medium',
      features: { plugins: false, apps: false },
      analytics: { enabled: false },
      otel: { metrics_exporter: 'none' },
      model_providers: {
        keyfleet: {
          name: 'keyfleet',
          base_url: `${PROXY}/backend-api/codex`,
          wire_api: 'responses',
          requires_openai_auth: true,
        },
      },
    });
    expect(JSON.parse(fileOf(profile, '.codex/auth.json'))).toEqual({
      OPENAI_API_KEY: null,
      tokens: {
        id_token: placeholder,
        access_token: placeholder,
        refresh_token: placeholder,
        account_id: 'keyfleet-proxy',
      },
      last_refresh: '2026-11-22T12:00:00.000Z',
    });
  });

  it('codex API key: env_key with the placeholder, and Azure’s api-version', () => {
    const profile = proxyProfile(
      input({
        provider: 'codex',
        kind: 'api_key',
        upstreams: [new URL('https://example.openai.azure.com/openai/v1')],
        queryParams: { 'api-version': '2025-04-01-preview' },
      }),
    );
    expect(profile.env).toEqual({ KEYFLEET_CODEX_API_KEY: 'PLACEHOLDER-0123456789abcdefghij' });
    expect(profile.files.map((f) => f.path)).toEqual(['.codex/config.toml']);
    const config = parseToml(fileOf(profile, '.codex/config.toml')) as { model_providers: Record<string, unknown> };
    expect(config.model_providers.keyfleet).toEqual({
      name: 'keyfleet',
      base_url: `${PROXY}/openai/v1`,
      wire_api: 'responses',
      env_key: 'KEYFLEET_CODEX_API_KEY',
      query_params: { 'api-version': '2025-04-01-preview' },
    });
  });

  it('gemini: Code Assist through CODE_ASSIST_ENDPOINT, API keys through GOOGLE_GEMINI_BASE_URL, with settings.json', () => {
    const oauth = proxyProfile(
      input({ provider: 'gemini', upstreams: [new URL('https://cloudcode-pa.googleapis.com')] }),
    );
    expect(oauth.env).toEqual({
      GOOGLE_GENAI_USE_GCA: 'true',
      GOOGLE_CLOUD_ACCESS_TOKEN: 'PLACEHOLDER-0123456789abcdefghij',
      CODE_ASSIST_ENDPOINT: PROXY,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    expect(JSON.parse(fileOf(oauth, '.gemini/settings.json'))).toEqual({
      security: { auth: { selectedType: 'oauth-personal' } },
      privacy: { usageStatisticsEnabled: false },
    });
    const key = proxyProfile(
      input({ provider: 'gemini', kind: 'api_key', upstreams: [new URL('https://generativelanguage.googleapis.com')] }),
    );
    expect(key.env).toEqual({
      GEMINI_API_KEY: 'PLACEHOLDER-0123456789abcdefghij',
      GOOGLE_GEMINI_BASE_URL: PROXY,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    expect(JSON.parse(fileOf(key, '.gemini/settings.json')).security.auth.selectedType).toBe('gemini-api-key');
  });
});

describe('newPlaceholder', () => {
  it('is random per launch and shaped like the CLI’s credential', () => {
    const a = newPlaceholder('claude', 'oauth', NOW);
    const b = newPlaceholder('claude', 'oauth', NOW);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^sk-ant-oat01-keyfleet-proxy-[A-Za-z0-9_-]{43}$/);
    expect(newPlaceholder('gemini', 'oauth', NOW)).toMatch(/^ya29\.keyfleet-proxy-[A-Za-z0-9_-]{43}$/);
  });

  it('codex ChatGPT: a JWT that expires in ten years, with no real account in it', () => {
    const jwt = newPlaceholder('codex', 'oauth', NOW);
    expect(jwtExpiry(jwt)).toBe(NOW + 10 * 365 * 24 * 3600 * 1000);
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(claims['https://api.openai.com/auth']).toEqual({
      chatgpt_account_id: 'keyfleet-proxy',
      chatgpt_user_id: 'keyfleet-proxy',
      user_id: 'keyfleet-proxy',
    });
    expect(newPlaceholder('codex', 'oauth', NOW).split('.')[2]).not.toBe(jwt.split('.')[2]);
  });
});

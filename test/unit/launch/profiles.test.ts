import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import type { Account, AccountEndpoint, AccountKind } from '#shared/accounts/model.ts';
import { buildProfile, type CliProfile } from '#shared/profiles/index.ts';
import { buildProviders } from '#shared/providers/index.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { buildAccount } from '#test/helpers/accounts.ts';

// Placeholders, not credentials: the golden files must hold nothing secret.
const TOKENS = {
  access_token: '<access-token>',
  refresh_token: '<refresh-token>',
  id_token: '<id-token>',
  token_type: 'Bearer',
  scope: '<scope>',
  expires_at: Date.parse('2026-11-22T13:00:00.000Z'),
  account_id: '<chatgpt-account-id>',
};
const NOW = Date.parse('2026-11-22T12:00:00.000Z');
const providers = buildProviders({});

function profile(
  provider: ProviderId,
  kind: AccountKind,
  options: { endpoint?: AccountEndpoint; deliverRefreshToken?: boolean; gateway?: boolean } = {},
): CliProfile {
  const definitions = options.gateway
    ? buildProviders({
        [provider]: {
          cliBaseUrl: 'https://gateway.example.com/v1',
          cliChatgptBaseUrl: 'https://gateway.example.com/backend-api/',
        },
      })
    : providers;
  const definition = definitions.get(provider);
  if (!definition) throw new Error(provider);
  const account: Account = buildAccount(provider, {
    id: 'acc_00000000000000000001',
    kind,
    endpoint: options.endpoint ?? null,
  });
  return buildProfile({
    provider: definition,
    account,
    tokens: kind === 'oauth' ? TOKENS : undefined,
    apiKey: kind === 'api_key' ? '<api-key-placeholder-0000>' : undefined,
    taskToken: '<task-token>',
    apiUrl: 'https://keyfleet.example.com',
    model: 'model-x',
    effort: provider === 'claude' ? 'high' : provider === 'codex' ? 'medium' : null,
    deliverRefreshToken: options.deliverRefreshToken ?? false,
    now: NOW,
  });
}

const cases: [string, () => CliProfile][] = [
  ['claude-oauth', () => profile('claude', 'oauth')],
  ['claude-api-key', () => profile('claude', 'api_key')],
  [
    'claude-api-key-custom',
    () =>
      profile('claude', 'api_key', {
        endpoint: { type: 'custom', baseUrl: 'https://llm-gw.example.com', apiVersion: null },
      }),
  ],
  [
    'claude-none',
    () =>
      profile('claude', 'none', { endpoint: { type: 'custom', baseUrl: 'http://127.0.0.1:4000', apiVersion: null } }),
  ],
  ['codex-oauth', () => profile('codex', 'oauth')],
  ['codex-oauth-gateway', () => profile('codex', 'oauth', { gateway: true })],
  ['codex-api-key', () => profile('codex', 'api_key')],
  [
    'codex-api-key-azure',
    () =>
      profile('codex', 'api_key', {
        endpoint: {
          type: 'azure',
          baseUrl: 'https://contoso.openai.azure.com/openai/v1',
          apiVersion: '2025-04-01-preview',
        },
      }),
  ],
  [
    'codex-none-lmstudio',
    () =>
      profile('codex', 'none', {
        endpoint: { type: 'responses_local', baseUrl: 'http://127.0.0.1:1234/v1', apiVersion: null },
      }),
  ],
  ['gemini-oauth-access-token', () => profile('gemini', 'oauth')],
  ['gemini-oauth-long-task', () => profile('gemini', 'oauth', { deliverRefreshToken: true })],
  ['gemini-api-key', () => profile('gemini', 'api_key')],
  ['bob-oauth', () => profile('bob', 'oauth')],
  ['bob-api-key', () => profile('bob', 'api_key')],
  ['grok-oauth', () => profile('grok', 'oauth')],
  ['grok-api-key', () => profile('grok', 'api_key')],
];

describe('CLI profiles', () => {
  it.each(cases)('%s matches its golden file', async (name, build) => {
    const built = build();
    const rendered = {
      env: built.env,
      files: built.files.map((f) => ({ path: f.path, mode: f.mode.toString(8), content: f.content.split('\n') })),
    };
    await expect(`${JSON.stringify(rendered, null, 2)}\n`).toMatchFileSnapshot(`../../golden/${name}.json`);
  });

  it.each(cases)('%s: files are 0600, JSON and TOML parse', (_name, build) => {
    for (const f of build().files) {
      expect(f.mode).toBe(0o600);
      expect(f.path.startsWith('/') || f.path.includes('..')).toBe(false);
      if (f.path.endsWith('.json')) expect(() => JSON.parse(f.content)).not.toThrow();
      if (f.path.endsWith('.toml')) expect(() => parseToml(f.content)).not.toThrow();
    }
  });

  it('never gives a rotating refresh token to Claude, Codex, Bob or Grok', () => {
    for (const provider of ['claude', 'codex', 'bob', 'grok'] as const) {
      expect(JSON.stringify(profile(provider, 'oauth'))).not.toContain('<refresh-token>');
    }
    expect(JSON.stringify(profile('gemini', 'oauth'))).not.toContain('<refresh-token>');
    expect(JSON.stringify(profile('gemini', 'oauth', { deliverRefreshToken: true }))).toContain('<refresh-token>');
  });

  it('switches off every CLI’s non-essential outside traffic', () => {
    expect(profile('claude', 'oauth').env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe('1');
    const codexConfig = parseToml(
      profile('codex', 'oauth').files.find((f) => f.path === '.codex/config.toml')?.content ?? '',
    );
    expect(codexConfig).toMatchObject({
      features: { plugins: false, apps: false },
      analytics: { enabled: false },
      otel: { metrics_exporter: 'none' },
    });
    const settings = JSON.parse(profile('gemini', 'api_key').files[0]?.content ?? '{}');
    expect(settings).toEqual({
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
    });
    expect(profile('gemini', 'api_key').env.GEMINI_CLI_TRUST_WORKSPACE).toBe('true');
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/errors.ts';
import { buildProviders } from '#shared/providers/index.ts';
import { DEFAULT_USAGE_ENDPOINTS, usageEndpointsOf } from '#shared/usage/endpoints.ts';

const endpointsFor = (overrides: unknown) => usageEndpointsOf(buildProviders(overrides).values());

describe('usage endpoints are provider data', () => {
  it('defaults to the endpoints the providers’ CLIs use, and none for grok and bob', () => {
    expect(endpointsFor({})).toEqual({
      claude: 'https://api.anthropic.com/api/oauth/usage',
      codex: 'https://chatgpt.com/backend-api/wham/usage',
      gemini: 'https://cloudcode-pa.googleapis.com/v1internal',
      bob: undefined,
      grok: undefined,
    });
    expect(endpointsFor(undefined)).toEqual(DEFAULT_USAGE_ENDPOINTS);
  });

  it('applies a per-provider usageEndpoint override and leaves the others', () => {
    const resolved = endpointsFor({ codex: { usageEndpoint: 'http://127.0.0.1:9999/wham/usage' }, claude: {} });
    expect(resolved).toEqual({ ...DEFAULT_USAGE_ENDPOINTS, codex: 'http://127.0.0.1:9999/wham/usage' });
    expect(buildProviders({ grok: { usageEndpoint: 'https://usage.grok.test/v1' } }).get('grok')?.usageEndpoint).toBe(
      'https://usage.grok.test/v1',
    );
  });

  it('leaves the allowance unknown when sign-in moves to another OAuth server and no usageEndpoint is named', () => {
    const resolved = endpointsFor({
      claude: { tokenEndpoint: 'http://127.0.0.1:4000/token' },
      codex: { issuer: 'http://127.0.0.1:4000', usageEndpoint: 'http://127.0.0.1:4001/backend-api/wham/usage' },
      gemini: { clientId: 'another-client' },
    });
    expect(resolved).toEqual({
      ...DEFAULT_USAGE_ENDPOINTS,
      claude: undefined,
      codex: 'http://127.0.0.1:4001/backend-api/wham/usage',
    });
  });

  it('refuses an override that is not an allowed endpoint URL, as for every other endpoint', () => {
    expect(() => buildProviders({ claude: { usageEndpoint: 'http://example.com/usage' } })).toThrow(
      new ConfigError(
        'KEYFLEET_PROVIDER_OVERRIDES is invalid: claude.usageEndpoint: URL must use https:// (http:// is accepted only for loopback hosts)',
      ),
    );
    expect(() => buildProviders({ grok: { usageEndpoint: 'https://169.254.169.254/x' } })).toThrow(ConfigError);
    expect(() => buildProviders({ grok: { usageEndpoint: 42 } })).toThrow(ConfigError);
  });
});

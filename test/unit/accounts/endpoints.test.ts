import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type EndpointRequest, LM_STUDIO_BASE_URL, normalizeEndpoint } from '#shared/accounts/endpoints.ts';
import { ValidationError } from '#shared/errors.ts';
import { buildProviders, type ProviderDefinition, type ProviderId } from '#shared/providers/index.ts';

const providers = buildProviders({});
const provider = (id: ProviderId): ProviderDefinition => providers.get(id) as ProviderDefinition;

const normalize = (
  provider: EndpointRequest['provider'],
  kind: EndpointRequest['kind'],
  input: EndpointRequest['input'],
) => normalizeEndpoint({ provider, kind, input });

beforeAll(() => {
  // The preset refusal names the providers that offer the preset, from the configured registry.
  vi.stubEnv('KEYFLEET_TABLE_NAME', 'keyfleet-unit');
});

function refusal(run: () => unknown): { message: string; details: unknown } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return { message: (error as ValidationError).message, details: (error as ValidationError).details };
  }
  throw new Error('expected a validation error');
}

describe('normalizeEndpoint', () => {
  it('stores the default endpoint (or none) as null', () => {
    expect(normalize(provider('claude'), 'api_key', undefined)).toBeNull();
    expect(normalize(provider('claude'), 'api_key', { type: 'default' })).toBeNull();
  });

  it('keeps a custom base URL’s path without trailing slashes', () => {
    expect(normalize(provider('claude'), 'api_key', { type: 'custom', baseUrl: 'https://gw.example.com/a//' })).toEqual(
      { type: 'custom', baseUrl: 'https://gw.example.com/a', apiVersion: null },
    );
  });

  it('rewrites any pasted Azure URL to <resource>/openai/v1 and takes its api-version from the query', () => {
    const pasted = 'https://team.openai.azure.com/openai/deployments/gpt/chat?api-version=2025-04-01-preview';
    expect(normalize(provider('codex'), 'api_key', { type: 'azure', baseUrl: pasted })).toEqual({
      type: 'azure',
      baseUrl: 'https://team.openai.azure.com/openai/v1',
      apiVersion: '2025-04-01-preview',
    });
    expect(
      normalize(provider('codex'), 'api_key', { type: 'azure', baseUrl: pasted, apiVersion: 'v2' })?.apiVersion,
    ).toBe('v2');
  });

  it('gives a local Responses endpoint LM Studio’s address unless one is given', () => {
    expect(normalize(provider('codex'), 'none', { type: 'responses_local' })).toEqual({
      type: 'responses_local',
      baseUrl: LM_STUDIO_BASE_URL,
      apiVersion: null,
    });
  });

  it('refuses a preset the provider does not offer, naming the provider that does', () => {
    const { message, details } = refusal(() =>
      normalize(provider('claude'), 'api_key', { type: 'azure', baseUrl: 'https://x.openai.azure.com' }),
    );
    expect(message).toBe('Invalid endpoint: type azure is a Codex endpoint preset; use custom for Claude (Anthropic)');
    expect(details).toEqual([
      { path: 'body.endpoint.type', message: 'azure is a Codex endpoint preset; use custom for Claude (Anthropic)' },
    ]);
  });

  it.each([
    [
      'grok',
      { type: 'custom', baseUrl: 'https://x.example.com', apiVersion: 'v1' },
      'apiVersion is not used by Grok (xAI)',
    ],
    ['codex', { type: 'custom', baseUrl: 'https://x.example.com', apiVersion: 'v 1' }, 'apiVersion must be 1-40'],
    ['codex', { type: 'azure', baseUrl: 'http://x.openai.azure.com' }, 'baseUrl must use https://'],
    ['codex', { type: 'azure', baseUrl: 'http://127.0.0.1:8080' }, 'baseUrl Azure endpoints use https://'],
    ['claude', { type: 'custom', baseUrl: 'https://x.example.com/?a=1' }, 'baseUrl must not have a query or fragment'],
    ['claude', { type: 'custom' }, 'baseUrl is required for this endpoint type'],
    ['claude', { type: 'custom', baseUrl: 'https://169.254.169.254/' }, 'Invalid endpoint: baseUrl '],
    ['claude', { type: 'default', baseUrl: 'https://x.example.com' }, 'baseUrl is not used with type default'],
  ] as const)('refuses %s endpoint %j: %s', (id, input, message) => {
    expect(refusal(() => normalize(provider(id), 'api_key', input)).message).toContain(message);
  });

  it('refuses a keyless account without a base URL', () => {
    expect(refusal(() => normalize(provider('grok'), 'none', null)).message).toBe(
      'Invalid endpoint: type a keyless account needs a base URL (type custom, or a Codex preset)',
    );
  });
});

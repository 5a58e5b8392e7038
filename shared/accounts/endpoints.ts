import type { AccountEndpoint, AccountKind, EndpointType } from '#shared/accounts/model.ts';
import { type ErrorDetail, ValidationError } from '#shared/errors.ts';
import { checkEndpointUrl } from '#shared/net/urls.ts';
import { listProviders } from '#shared/providers/index.ts';
import { ENDPOINT_PRESETS, type EndpointPreset, type ProviderDefinition } from '#shared/providers/types.ts';

/** What a client may send as `endpoint`. */
export interface EndpointInput {
  type: EndpointType;
  baseUrl?: string | undefined;
  apiVersion?: string | null | undefined;
}

/** An account's requested endpoint, for a provider and account kind. */
export interface EndpointRequest {
  provider: ProviderDefinition;
  kind: AccountKind;
  input: EndpointInput | null | undefined;
}

/** LM Studio's default OpenAI-compatible server. */
export const LM_STUDIO_BASE_URL = 'http://127.0.0.1:1234/v1';

const API_VERSION = /^[A-Za-z0-9._-]{1,40}$/;

function fail(path: string, message: string): never {
  const details: ErrorDetail[] = [{ path: `body.endpoint.${path}`, message }];
  throw new ValidationError(`Invalid endpoint: ${path} ${message}`, details);
}

/**
 * Checks a base URL and returns it without trailing slashes, query or fragment. The address rules
 * are {@link checkEndpointUrl}'s, the same check outbound calls make after DNS.
 */
function cleanBaseUrl(raw: string | undefined, allowQuery = false): URL {
  if (!raw) fail('baseUrl', 'is required for this endpoint type');
  if (raw.length > 2048) fail('baseUrl', 'is longer than 2048 characters');
  const checked = checkEndpointUrl(raw);
  if (!checked.ok) fail('baseUrl', checked.reason);
  const url = checked.url;
  if (url.hash || (url.search && !allowQuery)) fail('baseUrl', 'must not have a query or fragment');
  return url;
}

function isPreset(type: EndpointType): type is EndpointPreset {
  return (ENDPOINT_PRESETS as readonly string[]).includes(type);
}

/** The short names of the providers that offer `preset` ("Codex"). */
function presetOwners(preset: EndpointPreset): string {
  const owners = listProviders().filter((p) => p.endpointPresets.includes(preset));
  return owners.map((p) => p.name.replace(/ \(.*\)$/, '')).join(' or ') || 'no provider’s';
}

function withoutTrailingSlash(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Normalises a custom endpoint for an API-key or keyless account. `default` (or no endpoint) means
 * the CLI's built-in endpoint and is stored as null. Presets are allowed per provider
 * (`endpointPresets`; today Codex's) and follow PROVIDERS.md: Azure
 * URLs are rewritten to the `/openai/v1` Responses shape, LM Studio gets its default port.
 */
export function normalizeEndpoint({ provider, kind, input }: EndpointRequest): AccountEndpoint | null {
  if (!input || input.type === 'default') {
    if (kind === 'none') fail('type', 'a keyless account needs a base URL (type custom, or a Codex preset)');
    if (input?.baseUrl !== undefined) fail('baseUrl', 'is not used with type default');
    if (input?.apiVersion) fail('apiVersion', 'is not used with type default');
    return null;
  }
  if (isPreset(input.type) && !provider.endpointPresets.includes(input.type)) {
    fail('type', `${input.type} is a ${presetOwners(input.type)} endpoint preset; use custom for ${provider.name}`);
  }
  if (input.apiVersion !== undefined && input.apiVersion !== null) {
    if (!provider.endpointApiVersion) fail('apiVersion', `is not used by ${provider.name}`);
    if (!API_VERSION.test(input.apiVersion))
      fail('apiVersion', 'must be 1-40 letters, digits, dots, dashes or underscores');
  }
  let apiVersion = input.apiVersion ?? null;

  switch (input.type) {
    case 'responses_local':
      return {
        type: 'responses_local',
        baseUrl: withoutTrailingSlash(cleanBaseUrl(input.baseUrl ?? LM_STUDIO_BASE_URL)),
        apiVersion,
      };
    case 'azure': {
      const url = cleanBaseUrl(input.baseUrl, true);
      if (url.protocol !== 'https:') fail('baseUrl', 'Azure endpoints use https://');
      const fromQuery = url.searchParams.get('api-version');
      if (fromQuery) {
        if (!API_VERSION.test(fromQuery)) fail('baseUrl', 'has an invalid api-version');
        apiVersion = apiVersion ?? fromQuery;
      }
      // Whatever deployment path was pasted, Codex speaks Responses at <resource>/openai/v1.
      return { type: 'azure', baseUrl: `${url.origin}/openai/v1`, apiVersion };
    }
    case 'responses_hosted':
    case 'custom':
      return { type: input.type, baseUrl: withoutTrailingSlash(cleanBaseUrl(input.baseUrl)), apiVersion };
    default:
      fail('type', 'is not a known endpoint type');
  }
}

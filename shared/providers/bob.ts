import type { ProviderDefinition } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/**
 * Bob Shell: IBM's sign-in endpoints are not public, so OAuth needs configuration
 * (`KEYFLEET_PROVIDER_OVERRIDES.bob`). API-key accounts work without it.
 */
export const bob: ProviderDefinition = {
  id: 'bob',
  name: 'Bob (IBM)',
  cli: 'Bob Shell',
  signIn: 'redirect_url',
  oauth: {
    issuer: undefined,
    authorizationEndpoint: undefined,
    tokenEndpoint: undefined,
    deviceAuthorizationEndpoint: undefined,
    userinfoEndpoint: undefined,
    clientId: undefined,
    clientSecret: undefined,
    redirectUri: undefined,
    scopes: [],
    extraAuthorizeParams: {},
    tokenRequestFormat: 'form',
    userAgent: undefined,
    emailSource: 'userinfo',
  },
  refreshTokenRotates: null,
  renewsThroughKeyfleet: false,
  refreshLeadMinutes: 10,
  apiBaseUrl: undefined,
  apiDialect: 'openai',
  endpointPresets: [],
  endpointApiVersion: false,
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  usageEndpoint: DEFAULT_USAGE_ENDPOINTS.bob,
  usageApi: null,
  proxy: false,
  helpers: false,
  helperModel: undefined,
  efforts: [],
};

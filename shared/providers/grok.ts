import type { ProviderDefinition } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/** Grok CLI: RFC 8628 device flow; endpoints come from discovery at the issuer. */
export const grok: ProviderDefinition = {
  id: 'grok',
  name: 'Grok (xAI)',
  cli: 'Grok CLI',
  signIn: 'device',
  oauth: {
    issuer: 'https://auth.x.ai',
    authorizationEndpoint: undefined,
    tokenEndpoint: undefined,
    deviceAuthorizationEndpoint: undefined,
    userinfoEndpoint: undefined,
    clientId: 'b1a00492-073a-47ea-816f-4c329264a828',
    clientSecret: undefined,
    redirectUri: undefined,
    scopes: ['openid', 'profile', 'email', 'offline_access', 'grok-cli:access', 'api:access'],
    extraAuthorizeParams: {},
    tokenRequestFormat: 'form',
    userAgent: undefined,
    emailSource: 'userinfo',
  },
  refreshTokenRotates: true,
  renewsThroughKeyfleet: true,
  refreshLeadMinutes: 5,
  apiBaseUrl: 'https://api.x.ai/v1',
  apiDialect: 'openai',
  endpointPresets: [],
  endpointApiVersion: false,
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  usageEndpoint: DEFAULT_USAGE_ENDPOINTS.grok,
  usageApi: null,
  proxy: false,
  helpers: false,
  helperModel: undefined,
  efforts: {
    'grok-4.3': ['low', 'medium', 'high'],
    'grok-4.20-multi-agent-0309': ['low', 'medium', 'high', 'xhigh'],
  },
};

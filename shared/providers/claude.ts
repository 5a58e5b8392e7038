import type { ProviderDefinition } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/** Claude Code: manual code flow (the callback page shows `code#state`), JSON token body. */
export const claude: ProviderDefinition = {
  id: 'claude',
  name: 'Claude (Anthropic)',
  cli: 'Claude Code',
  signIn: 'code',
  oauth: {
    issuer: undefined,
    authorizationEndpoint: 'https://claude.ai/oauth/authorize',
    tokenEndpoint: 'https://platform.claude.com/v1/oauth/token',
    deviceAuthorizationEndpoint: undefined,
    userinfoEndpoint: undefined,
    clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
    clientSecret: undefined,
    redirectUri: 'https://platform.claude.com/oauth/code/callback',
    scopes: ['org:create_api_key', 'user:profile', 'user:inference'],
    extraAuthorizeParams: { code: 'true' },
    tokenRequestFormat: 'json',
    userAgent: 'claude-cli/2.1.330 (external, cli)',
    emailSource: 'token_response',
  },
  refreshTokenRotates: true,
  renewsThroughKeyfleet: false,
  refreshLeadMinutes: 60,
  apiBaseUrl: 'https://api.anthropic.com',
  apiDialect: 'anthropic',
  endpointPresets: [],
  endpointApiVersion: false,
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  usageEndpoint: DEFAULT_USAGE_ENDPOINTS.claude,
  helpers: true,
  helperModel: 'claude-haiku-4-5',
  efforts: ['low', 'medium', 'high', 'xhigh', 'max'],
};

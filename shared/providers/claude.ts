import type { ProviderDefinition } from '#shared/providers/types.ts';

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
  refreshLeadMinutes: 60,
  apiBaseUrl: 'https://api.anthropic.com',
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  helpers: true,
  efforts: ['low', 'medium', 'high', 'xhigh', 'max'],
};

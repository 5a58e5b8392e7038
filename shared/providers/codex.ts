import type { ProviderDefinition } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/** Codex CLI: the user pastes the failed `localhost:1455` redirect; email from the id_token. */
export const codex: ProviderDefinition = {
  id: 'codex',
  name: 'Codex (OpenAI)',
  cli: 'Codex CLI',
  signIn: 'redirect_url',
  oauth: {
    issuer: undefined,
    authorizationEndpoint: 'https://auth.openai.com/oauth/authorize',
    tokenEndpoint: 'https://auth.openai.com/oauth/token',
    deviceAuthorizationEndpoint: undefined,
    userinfoEndpoint: undefined,
    clientId: 'app_EMoamEEZ73f0CkXaXp7hrann',
    clientSecret: undefined,
    redirectUri: 'http://localhost:1455/auth/callback',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    extraAuthorizeParams: {
      id_token_add_organizations: 'true',
      codex_cli_simplified_flow: 'true',
      originator: 'codex_cli_rs',
    },
    tokenRequestFormat: 'form',
    userAgent: undefined,
    emailSource: 'id_token',
  },
  refreshTokenRotates: true,
  renewsThroughKeyfleet: true,
  refreshLeadMinutes: 24 * 60,
  apiBaseUrl: 'https://api.openai.com/v1',
  apiDialect: 'openai',
  endpointPresets: ['responses_hosted', 'responses_local', 'azure'],
  endpointApiVersion: true,
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  usageEndpoint: DEFAULT_USAGE_ENDPOINTS.codex,
  usageApi: 'chatgpt_wham',
  proxy: true,
  helpers: true,
  helperModel: 'gpt-5-mini',
  efforts: ['minimal', 'low', 'medium', 'high', 'xhigh'],
};

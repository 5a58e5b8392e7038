import type { ProviderDefinition } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/providers/usage-endpoints.ts';

/**
 * Gemini CLI: Google's installed-app flow. The client secret below is the public one shipped in
 * Gemini CLI (installed-app secrets are not confidential by design). Refresh tokens do not rotate.
 */
export const gemini: ProviderDefinition = {
  id: 'gemini',
  name: 'Gemini (Google)',
  cli: 'Gemini CLI',
  signIn: 'redirect_url',
  oauth: {
    issuer: undefined,
    authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    deviceAuthorizationEndpoint: undefined,
    userinfoEndpoint: 'https://www.googleapis.com/oauth2/v2/userinfo',
    clientId: '681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com',
    clientSecret: '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',
    redirectUri: 'http://127.0.0.1:8085/oauth2callback',
    scopes: [
      'https://www.googleapis.com/auth/cloud-platform',
      'https://www.googleapis.com/auth/userinfo.email',
      'https://www.googleapis.com/auth/userinfo.profile',
    ],
    extraAuthorizeParams: { access_type: 'offline', prompt: 'consent' },
    tokenRequestFormat: 'form',
    userAgent: undefined,
    emailSource: 'userinfo',
  },
  refreshTokenRotates: false,
  renewsThroughKeyfleet: false,
  refreshLeadMinutes: 10,
  apiBaseUrl: 'https://generativelanguage.googleapis.com',
  apiDialect: 'gemini',
  endpointPresets: [],
  endpointApiVersion: true,
  cliBaseUrl: undefined,
  cliChatgptBaseUrl: undefined,
  usageEndpoint: DEFAULT_USAGE_ENDPOINTS.gemini,
  usageApi: 'code_assist',
  proxy: true,
  helpers: true,
  helperModel: 'gemini-2.5-flash',
  efforts: [],
};

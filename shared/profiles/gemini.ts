import { type CliProfile, env, file, json, type ProfileInput } from '#shared/profiles/types.ts';

/**
 * Gemini CLI. OAuth accounts get an access token only (`GOOGLE_GENAI_USE_GCA` +
 * `GOOGLE_CLOUD_ACCESS_TOKEN`; no refresh, a 401 is fatal) when the task fits in the token's life;
 * otherwise `oauth_creds.json` with the real refresh token, which is safe to share because Google's
 * refresh tokens do not rotate (the launch says so in its warnings and audit event). API keys need
 * `selectedType = "gemini-api-key"` or the CLI refuses them.
 */
export function geminiProfile(input: ProfileInput): CliProfile {
  const { account, tokens } = input;
  const selectedType = account.kind === 'oauth' ? 'oauth-personal' : 'gemini-api-key';
  const settings = { security: { auth: { selectedType } }, privacy: { usageStatisticsEnabled: false } };
  const files = [file('.gemini/settings.json', json(settings))];
  let credential: Record<string, string | null | undefined>;
  if (account.kind === 'oauth') {
    if (input.deliverRefreshToken) {
      files.push(
        file(
          '.gemini/oauth_creds.json',
          json({
            access_token: tokens?.access_token,
            refresh_token: tokens?.refresh_token,
            scope: tokens?.scope,
            token_type: tokens?.token_type ?? 'Bearer',
            expiry_date: tokens?.expires_at,
          }),
        ),
      );
      credential = { CODE_ASSIST_ENDPOINT: input.provider.cliBaseUrl };
    } else {
      credential = {
        GOOGLE_GENAI_USE_GCA: 'true',
        GOOGLE_CLOUD_ACCESS_TOKEN: tokens?.access_token,
        CODE_ASSIST_ENDPOINT: input.provider.cliBaseUrl,
      };
    }
  } else {
    credential = {
      GEMINI_API_KEY: account.kind === 'api_key' ? input.apiKey : 'keyfleet-keyless',
      GOOGLE_GEMINI_BASE_URL: account.endpoint?.baseUrl,
    };
  }
  return {
    env: env({ ...credential, GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_MODEL: input.model }),
    files,
  };
}

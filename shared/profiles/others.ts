import { type CliProfile, env, file, json, type ProfileInput } from '#shared/profiles/types.ts';

/**
 * Bob Shell. API keys through `BOBSHELL_API_KEY` (`BOBSHELL_API_BASE_URL` for a custom endpoint).
 * For OAuth accounts the access token alone goes to `~/.bob/credentials.json`: whether Bob's refresh
 * tokens rotate is unknown, so the refresh token stays in the vault.
 */
export function bobProfile(input: ProfileInput): CliProfile {
  const { account, tokens } = input;
  if (account.kind === 'oauth') {
    return {
      env: {},
      files: [
        file(
          '.bob/credentials.json',
          json({
            access_token: tokens?.access_token,
            token_type: tokens?.token_type ?? 'Bearer',
            expires_at: tokens?.expires_at ? new Date(tokens.expires_at).toISOString() : null,
          }),
        ),
      ],
    };
  }
  return {
    env: env({
      BOBSHELL_API_KEY: account.kind === 'api_key' ? input.apiKey : 'keyfleet-keyless',
      BOBSHELL_API_BASE_URL: account.endpoint?.baseUrl,
    }),
    files: [],
  };
}

/**
 * Grok CLI. OAuth accounts use the CLI's external auth provider hook: it runs `keyfleet token grok`,
 * which fetches the current access token with the task token, again before expiry or on a 401.
 * Nothing rotating ever enters the container.
 */
export function grokProfile(input: ProfileInput): CliProfile {
  const { account } = input;
  if (account.kind === 'oauth') {
    return {
      env: env({
        GROK_AUTH_PROVIDER_COMMAND: 'keyfleet token grok',
        GROK_AUTH_PROVIDER_LABEL: 'keyfleet',
        GROK_CLI_CHAT_PROXY_BASE_URL: input.provider.cliBaseUrl,
      }),
      files: [],
    };
  }
  return { env: env({ XAI_API_KEY: account.kind === 'api_key' ? input.apiKey : 'keyfleet-keyless' }), files: [] };
}

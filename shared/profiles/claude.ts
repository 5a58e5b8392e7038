import { type CliProfile, env, file, json, type ProfileInput } from '#shared/profiles/types.ts';

/**
 * Claude Code. OAuth accounts get only an access token (`CLAUDE_CODE_OAUTH_TOKEN`, sent as a bearer
 * with the oauth beta and never refreshed by the CLI) — never `.credentials.json`, whose refresh goes
 * to a hard-coded host and would rotate the pooled refresh token. Non-essential traffic is off, or the
 * CLI would also send the token to api.anthropic.com whatever ANTHROPIC_BASE_URL says.
 */
export function claudeProfile(input: ProfileInput): CliProfile {
  const { account } = input;
  const credential =
    account.kind === 'oauth'
      ? { CLAUDE_CODE_OAUTH_TOKEN: input.tokens?.access_token, ANTHROPIC_BASE_URL: input.provider.cliBaseUrl }
      : account.kind === 'api_key'
        ? { ANTHROPIC_API_KEY: input.apiKey, ANTHROPIC_BASE_URL: account.endpoint?.baseUrl }
        : { ANTHROPIC_AUTH_TOKEN: 'keyfleet-keyless', ANTHROPIC_BASE_URL: account.endpoint?.baseUrl };
  const onboarding: Record<string, unknown> = { hasCompletedOnboarding: true };
  // The TUI asks before using a custom API key unless its last 20 characters are pre-approved.
  if (account.kind === 'api_key' && input.apiKey) {
    onboarding.customApiKeyResponses = { approved: [input.apiKey.slice(-20)], rejected: [] };
  }
  return {
    env: env({
      ...credential,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
      CLAUDE_CODE_EFFORT_LEVEL: input.effort,
      ANTHROPIC_MODEL: input.model,
    }),
    files: [file('.claude.json', json(onboarding))],
  };
}

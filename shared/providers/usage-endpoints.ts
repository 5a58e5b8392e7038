import type { ProviderId } from '#shared/providers/types.ts';

/**
 * Where each provider's own CLI reads an OAuth account's allowance: the defaults of the provider
 * definitions' `usageEndpoint`. These are not public APIs and may move, so they are provider data,
 * replaceable per provider through `KEYFLEET_PROVIDER_OVERRIDES` like every other endpoint.
 *
 * - claude: `GET`, answers the windows directly.
 * - codex: `GET`, the ChatGPT backend's `wham/usage`.
 * - gemini: the Code Assist API base (`…/v1internal`); Gemini CLI calls `<base>:loadCodeAssist`
 *   for the account's project and tier, then `<base>:retrieveUserQuota` for per-model daily quotas.
 * - grok, bob: neither CLI reads an allowance from an endpoint with a known answer shape: unknown.
 */
export const DEFAULT_USAGE_ENDPOINTS: Readonly<Record<ProviderId, string | undefined>> = {
  claude: 'https://api.anthropic.com/api/oauth/usage',
  codex: 'https://chatgpt.com/backend-api/wham/usage',
  gemini: 'https://cloudcode-pa.googleapis.com/v1internal',
  bob: undefined,
  grok: undefined,
};

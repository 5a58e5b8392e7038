import { ConfigError } from '#shared/errors.ts';
import { checkEndpointUrl } from '#shared/net/urls.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';

/**
 * Where each provider's own CLI reads an OAuth account's allowance. These are not public APIs and
 * may move, so they are provider data: every one can be replaced per provider (`usageEndpoint`).
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

/** The override map's shape: the same per-provider objects as `KEYFLEET_PROVIDER_OVERRIDES`. */
export type UsageEndpointOverrides = Partial<Record<ProviderId, { usageEndpoint?: string | undefined }>>;

/**
 * The effective usage endpoints: the defaults with `overrides[provider].usageEndpoint` applied.
 * An override must pass the same URL check as every other endpoint (https, or http on loopback);
 * a bad one is a configuration error at start, not a silent fallback.
 */
export function resolveUsageEndpoints(
  overrides: UsageEndpointOverrides = {},
): Readonly<Record<ProviderId, string | undefined>> {
  const result = { ...DEFAULT_USAGE_ENDPOINTS };
  for (const id of PROVIDER_IDS) {
    const value = overrides[id]?.usageEndpoint;
    if (value === undefined) continue;
    const checked = checkEndpointUrl(value);
    if (!checked.ok) throw new ConfigError(`${id}.usageEndpoint: URL ${checked.reason}`);
    result[id] = value;
  }
  return result;
}

/**
 * What the proxy needs to know about each provider and account kind, as data: the upstream it
 * forwards to by default, the header that carries the credential (the agent sends its placeholder
 * in the same place), an extra header taken from the account, whether the credential is an OAuth
 * access token renewed through the task token, and which usage and rate-limit dialect its answers
 * speak. Which providers it serves at all is their definitions' `proxy`. Besides this table, only the
 * per-provider agent profiles and grant readers (keyed by {@link ProxyProvider}) and Codex's ChatGPT
 * mode (a JWT placeholder, its own refresh route) are provider-specific in `shared/proxy/`.
 */

import { BUILT_IN_PROVIDERS, isProviderId } from '#shared/providers/built-in.ts';

export type ProxyProvider = 'claude' | 'codex' | 'gemini';
export type ProxyKind = 'oauth' | 'api_key';
export type RouteKey = `${ProxyProvider}:${ProxyKind}`;

/** How the providers report token usage in their answers (see `usage.ts`). */
export type UsageDialect = 'anthropic' | 'openai-responses' | 'gemini';
/** How the providers announce rate limits (see `limits.ts`). */
export type LimitDialect = 'anthropic' | 'codex' | 'gemini';

/** A header that carries a credential: `scheme` set means `<scheme> <value>` (e.g. Bearer). */
export interface CredentialSlot {
  header: string;
  scheme?: 'Bearer';
}

export interface UpstreamRoute {
  /** Base URLs the agent's CLI is pointed at (through the proxy), the model API first. */
  upstreams: string[];
  credential: CredentialSlot;
  /**
   * How the agent's placeholder starts, in the shape the CLI expects (random after it); a Codex
   * ChatGPT placeholder is a JWT instead (see `profiles.ts`).
   */
  placeholderPrefix: string;
  /** A header the upstream needs from the account (Codex's ChatGPT workspace id). */
  accountHeader?: string;
  /** OAuth access tokens expire; the proxy renews them through the task token. */
  renews: boolean;
  usage: UsageDialect;
  limits: LimitDialect;
}

const BEARER: CredentialSlot = { header: 'authorization', scheme: 'Bearer' };

/** Provider behaviour, one row per provider and account kind (measured in the CLIs' own traffic). */
export const ROUTES: Record<RouteKey, UpstreamRoute> = {
  'claude:oauth': {
    upstreams: ['https://api.anthropic.com'],
    credential: BEARER,
    placeholderPrefix: 'sk-ant-oat01-keyfleet-proxy-',
    renews: true,
    usage: 'anthropic',
    limits: 'anthropic',
  },
  'claude:api_key': {
    upstreams: ['https://api.anthropic.com'],
    credential: { header: 'x-api-key' },
    placeholderPrefix: 'sk-ant-api03-keyfleet-proxy-',
    renews: false,
    usage: 'anthropic',
    limits: 'anthropic',
  },
  'codex:oauth': {
    // Model calls under the custom provider's base_url; wham/* and the rest under chatgpt_base_url.
    upstreams: ['https://chatgpt.com/backend-api/codex', 'https://chatgpt.com/backend-api/'],
    credential: BEARER,
    placeholderPrefix: '',
    accountHeader: 'chatgpt-account-id',
    renews: true,
    usage: 'openai-responses',
    limits: 'codex',
  },
  'codex:api_key': {
    upstreams: ['https://api.openai.com/v1'],
    credential: BEARER,
    placeholderPrefix: 'sk-keyfleet-proxy-',
    renews: false,
    usage: 'openai-responses',
    limits: 'codex',
  },
  'gemini:oauth': {
    // The CLI appends `/v1internal:<method>` to CODE_ASSIST_ENDPOINT.
    upstreams: ['https://cloudcode-pa.googleapis.com'],
    credential: BEARER,
    placeholderPrefix: 'ya29.keyfleet-proxy-',
    renews: true,
    usage: 'gemini',
    limits: 'gemini',
  },
  'gemini:api_key': {
    upstreams: ['https://generativelanguage.googleapis.com'],
    credential: { header: 'x-goog-api-key' },
    placeholderPrefix: 'keyfleet-proxy-',
    renews: false,
    usage: 'gemini',
    limits: 'gemini',
  },
};

/**
 * Whether the proxy serves this provider: its definition's `proxy` (Bob and Grok have no measured
 * base-URL setting yet). A unit test holds the flag, {@link ProxyProvider} and {@link ROUTES} together.
 */
export function isProxyProvider(provider: string): provider is ProxyProvider {
  return isProviderId(provider) && BUILT_IN_PROVIDERS[provider].proxy;
}

/**
 * Every header an agent might use to present a credential or identity; the proxy drops them all
 * and attaches only the account's own.
 */
export const CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  'chatgpt-account-id',
  'x-goog-user-project',
];

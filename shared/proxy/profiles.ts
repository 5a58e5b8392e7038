import { randomBytes } from 'node:crypto';
import { stringify } from 'smol-toml';
import { CODEX_KEY_VARIABLE, CODEX_PROVIDER_ID } from '#shared/profiles/codex.ts';
import { type CliProfile, env, file, json } from '#shared/profiles/types.ts';
import type { ProxyGrant } from '#shared/proxy/grant.ts';
import { type ProxyKind, type ProxyProvider, ROUTES } from '#shared/proxy/routes.ts';

/** What the agent-side profile of a proxied launch is made from; nothing in it is a credential. */
export interface ProxyProfileInput {
  provider: ProxyProvider;
  kind: ProxyKind;
  /** The proxy as the agent reaches it, e.g. `http://127.0.0.1:8790`. */
  proxyUrl: string;
  /** The account's upstream base URLs (the proxy serves each under the same path). */
  upstreams: URL[];
  /** The per-launch placeholder the agent presents instead of a credential. */
  placeholder: string;
  model: string | null;
  effort: string | null;
  queryParams: Record<string, string>;
  /** Epoch ms; Codex's `auth.json` records when its tokens were last refreshed. */
  now: number;
}

/** The placeholder JWT's expiry: far enough away that Codex never refreshes on its own. */
const PLACEHOLDER_JWT_LIFE_S = 10 * 365 * 24 * 3600;
/** Claims Codex reads from its access token; none of them is the account's. */
const PLACEHOLDER_ID = 'keyfleet-proxy';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A fresh placeholder for one launch: the route's prefix and 32 random bytes, or for Codex's
 * ChatGPT mode a JWT (the CLI reads `exp` and the account claims but never checks the signature)
 * whose signature part is the random bytes. Only the proxy that made it accepts it.
 */
export function newPlaceholder(provider: ProxyProvider, kind: ProxyKind, now: number): string {
  const random = randomBytes(32).toString('base64url');
  if (provider !== 'codex' || kind !== 'oauth') return `${ROUTES[`${provider}:${kind}`].placeholderPrefix}${random}`;
  const iat = Math.floor(now / 1000);
  const claims = {
    iss: PLACEHOLDER_ID,
    sub: PLACEHOLDER_ID,
    aud: PLACEHOLDER_ID,
    iat,
    exp: iat + PLACEHOLDER_JWT_LIFE_S,
    email: 'agent@keyfleet.invalid',
    'https://api.openai.com/auth': {
      chatgpt_account_id: PLACEHOLDER_ID,
      chatgpt_user_id: PLACEHOLDER_ID,
      user_id: PLACEHOLDER_ID,
    },
    'https://api.openai.com/profile': { email: 'agent@keyfleet.invalid' },
  };
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.${random}`;
}

/** The proxy's URL for an upstream base: same path, so one proxy serves several bases. */
export function viaProxy(proxyUrl: string, upstream: URL): string {
  return `${proxyUrl.replace(/\/$/, '')}${upstream.pathname === '/' ? '' : upstream.pathname}`;
}

/** Where Codex sends its refresh when `CODEX_REFRESH_TOKEN_URL_OVERRIDE` points at the proxy. */
export const CODEX_REFRESH_PATH = '/_keyfleet/codex/token';

function claude(input: ProxyProfileInput): CliProfile {
  const credential =
    input.kind === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: input.placeholder } : { ANTHROPIC_API_KEY: input.placeholder };
  const onboarding: Record<string, unknown> = { hasCompletedOnboarding: true };
  // The TUI asks before using a custom API key unless its last 20 characters are pre-approved.
  if (input.kind === 'api_key') {
    onboarding.customApiKeyResponses = { approved: [input.placeholder.slice(-20)], rejected: [] };
  }
  return {
    env: env({
      ...credential,
      ANTHROPIC_BASE_URL: viaProxy(input.proxyUrl, input.upstreams[0] as URL),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
      CLAUDE_CODE_EFFORT_LEVEL: input.effort,
      ANTHROPIC_MODEL: input.model,
    }),
    files: [file('.claude.json', json(onboarding))],
  };
}

function codex(input: ProxyProfileInput): CliProfile {
  const [model, chatgpt] = input.upstreams;
  const provider: Record<string, unknown> = {
    name: CODEX_PROVIDER_ID,
    base_url: viaProxy(input.proxyUrl, model as URL),
    wire_api: 'responses',
    ...(input.kind === 'oauth' ? { requires_openai_auth: true } : { env_key: CODEX_KEY_VARIABLE }),
    ...(Object.keys(input.queryParams).length > 0 ? { query_params: input.queryParams } : {}),
  };
  const config: Record<string, unknown> = {
    model_provider: CODEX_PROVIDER_ID,
    ...(input.kind === 'oauth' && chatgpt ? { chatgpt_base_url: `${viaProxy(input.proxyUrl, chatgpt)}` } : {}),
    check_for_update_on_startup: false,
    ...(input.model ? { model: input.model } : {}),
    ...(input.effort ? { model_reasoning_effort: input.effort } : {}),
    features: { plugins: false, apps: false },
    analytics: { enabled: false },
    otel: { metrics_exporter: 'none' },
    model_providers: { [CODEX_PROVIDER_ID]: provider },
  };
  const files = [file('.codex/config.toml', `${stringify(config)}\n`)];
  if (input.kind === 'api_key') return { env: env({ [CODEX_KEY_VARIABLE]: input.placeholder }), files };
  const auth = {
    OPENAI_API_KEY: null,
    tokens: {
      id_token: input.placeholder,
      access_token: input.placeholder,
      refresh_token: input.placeholder,
      account_id: PLACEHOLDER_ID,
    },
    last_refresh: new Date(input.now).toISOString(),
  };
  files.unshift(file('.codex/auth.json', json(auth)));
  return {
    env: env({ CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${input.proxyUrl.replace(/\/$/, '')}${CODEX_REFRESH_PATH}` }),
    files,
  };
}

function gemini(input: ProxyProfileInput): CliProfile {
  const selectedType = input.kind === 'oauth' ? 'oauth-personal' : 'gemini-api-key';
  const settings = { security: { auth: { selectedType } }, privacy: { usageStatisticsEnabled: false } };
  const base = viaProxy(input.proxyUrl, input.upstreams[0] as URL);
  const credential =
    input.kind === 'oauth'
      ? { GOOGLE_GENAI_USE_GCA: 'true', GOOGLE_CLOUD_ACCESS_TOKEN: input.placeholder, CODE_ASSIST_ENDPOINT: base }
      : { GEMINI_API_KEY: input.placeholder, GOOGLE_GEMINI_BASE_URL: base };
  return {
    env: env({ ...credential, GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_MODEL: input.model }),
    files: [file('.gemini/settings.json', json(settings))],
  };
}

const BUILDERS: Record<ProxyProvider, (input: ProxyProfileInput) => CliProfile> = { claude, codex, gemini };

/**
 * The agent's profile for `delivery: "proxy"`: the CLI pointed at the proxy through its base-URL
 * settings, holding only the launch's placeholder, with the CLI's own outside traffic switched off
 * as in ticket mode (CLI-FIDELITY measurements).
 */
export function proxyProfile(input: ProxyProfileInput): CliProfile {
  return BUILDERS[input.provider](input);
}

/** {@link proxyProfile} for a grant the proxy holds. */
export function proxyProfileFor(grant: ProxyGrant, proxyUrl: string, placeholder: string, now: number): CliProfile {
  return proxyProfile({
    provider: grant.provider,
    kind: grant.kind,
    proxyUrl,
    upstreams: grant.upstreams,
    placeholder,
    model: grant.model,
    effort: grant.effort,
    queryParams: grant.queryParams,
    now,
  });
}

import { parse as parseToml } from 'smol-toml';
import { checkEndpointUrl } from '#shared/net/urls.ts';
import { isProxyProvider, type ProxyKind, type ProxyProvider, ROUTES, type RouteKey } from '#shared/proxy/routes.ts';

/** What POST /v1/tickets/redeem answers (the ticket-mode profile, redeemed by the proxy only). */
export interface RedeemedProfile {
  provider: string;
  taskToken: string;
  expiresAt: string;
  env: Record<string, string>;
  files: { path: string; mode: number; content: string }[];
}

/**
 * A credential held in memory. The value is a private field: it is left out of `JSON.stringify`,
 * `util.inspect` and template strings, so logging a grant by mistake prints nothing secret.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[secret]';
  }
}

/** The account a launch's proxy serves, derived from its redeemed profile. */
export interface ProxyGrant {
  provider: ProxyProvider;
  kind: ProxyKind;
  /** Where the agent's requests go: the route's upstreams, or the account's own endpoint. */
  upstreams: URL[];
  credential: Secret;
  /** Epoch ms when `credential` expires; null when the profile does not say. */
  credentialExpiresAt: number | null;
  /** Codex ChatGPT accounts: the workspace id sent as `chatgpt-account-id`. */
  accountId: string | null;
  taskToken: Secret;
  /** When the launch ends (the task token's life). */
  expiresAt: string;
  model: string | null;
  effort: string | null;
  /** Query parameters the agent's CLI must add (Azure's `api-version`). */
  queryParams: Record<string, string>;
}

type Extracted = Omit<ProxyGrant, 'provider' | 'taskToken' | 'expiresAt' | 'upstreams' | 'credential'> & {
  secret: string | undefined;
  /** Replaces the route's upstreams, in order; absent entries keep the default. */
  upstreams: (string | undefined)[];
};

function fileContent(profile: RedeemedProfile, path: string): string | undefined {
  return profile.files.find((f) => f.path === path)?.content;
}

function jsonFile(profile: RedeemedProfile, path: string): Record<string, unknown> | undefined {
  const content = fileContent(profile, path);
  return content === undefined ? undefined : (JSON.parse(content) as Record<string, unknown>);
}

/** Epoch ms of a JWT's `exp`, or null when the token is not a JWT. */
export function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function claude(profile: RedeemedProfile): Extracted {
  const { env } = profile;
  const oauth = env.CLAUDE_CODE_OAUTH_TOKEN;
  return {
    kind: oauth ? 'oauth' : 'api_key',
    secret: oauth ?? env.ANTHROPIC_API_KEY,
    upstreams: [env.ANTHROPIC_BASE_URL],
    credentialExpiresAt: null,
    accountId: null,
    model: text(env.ANTHROPIC_MODEL),
    effort: text(env.CLAUDE_CODE_EFFORT_LEVEL),
    queryParams: {},
  };
}

type CodexProvider = { base_url?: string; env_key?: string; query_params?: Record<string, string> };

function codex(profile: RedeemedProfile): Extracted {
  const auth = jsonFile(profile, '.codex/auth.json');
  const configText = fileContent(profile, '.codex/config.toml');
  const config = (configText ? parseToml(configText) : {}) as {
    model?: string;
    model_reasoning_effort?: string;
    model_provider?: string;
    chatgpt_base_url?: string;
    model_providers?: Record<string, CodexProvider>;
  };
  const custom = config.model_provider ? config.model_providers?.[config.model_provider] : undefined;
  const tokens = auth?.tokens as { access_token?: string; account_id?: string } | undefined;
  const base = { model: text(config.model), effort: text(config.model_reasoning_effort) };
  if (tokens?.access_token) {
    return {
      ...base,
      kind: 'oauth',
      secret: tokens.access_token,
      upstreams: [custom?.base_url, config.chatgpt_base_url],
      credentialExpiresAt: jwtExpiry(tokens.access_token),
      accountId: text(tokens.account_id),
      queryParams: {},
    };
  }
  const secret = custom?.env_key ? profile.env[custom.env_key] : text(auth?.OPENAI_API_KEY);
  return {
    ...base,
    kind: 'api_key',
    secret: secret ?? undefined,
    upstreams: [custom?.base_url],
    credentialExpiresAt: null,
    accountId: null,
    queryParams: custom?.query_params ?? {},
  };
}

function gemini(profile: RedeemedProfile): Extracted {
  const { env } = profile;
  // A long Gemini task in ticket mode also carries oauth_creds.json; the proxy takes its access
  // token only and renews through the task token, so the refresh token is never kept.
  const creds = jsonFile(profile, '.gemini/oauth_creds.json');
  const access = env.GOOGLE_CLOUD_ACCESS_TOKEN ?? text(creds?.access_token) ?? undefined;
  const common = { accountId: null, model: text(env.GEMINI_MODEL), effort: null, queryParams: {} };
  if (access || env.CODE_ASSIST_ENDPOINT !== undefined) {
    const expiry = creds?.expiry_date;
    return {
      ...common,
      kind: 'oauth',
      secret: access,
      upstreams: [env.CODE_ASSIST_ENDPOINT],
      credentialExpiresAt: typeof expiry === 'number' ? expiry : null,
    };
  }
  return {
    ...common,
    kind: 'api_key',
    secret: env.GEMINI_API_KEY,
    upstreams: [env.GOOGLE_GEMINI_BASE_URL],
    credentialExpiresAt: null,
  };
}

const EXTRACTORS: Record<ProxyProvider, (profile: RedeemedProfile) => Extracted> = { claude, codex, gemini };

/**
 * The account's upstream, held to the rule every saved endpoint follows (`checkEndpointUrl`):
 * https, http only on loopback, no credentials, and no private, link-local or metadata address.
 */
function upstreamUrl(value: string): URL {
  const checked = checkEndpointUrl(value);
  if (!checked.ok) throw new Error(`keyfleet proxy: the upstream ${checked.reason}`);
  return checked.url;
}

/**
 * Reads the account behind a redeemed ticket-mode profile: provider and kind, the upstream (the
 * account's custom endpoint or the route's default), the credential and what else the proxy must
 * attach. Throws a clear error for providers or account kinds the proxy does not serve (keyless
 * accounts, Bob, Grok); the message never contains the credential.
 */
export function grantFromRedeemed(profile: RedeemedProfile): ProxyGrant {
  if (!isProxyProvider(profile.provider)) {
    throw new Error(`keyfleet proxy: provider "${profile.provider}" cannot be served through the proxy`);
  }
  const extracted = EXTRACTORS[profile.provider](profile);
  if (!extracted.secret) {
    throw new Error(
      `keyfleet proxy: the ${profile.provider} profile carries no credential (keyless accounts need none)`,
    );
  }
  const key: RouteKey = `${profile.provider}:${extracted.kind}`;
  const defaults = ROUTES[key].upstreams;
  const upstreams = defaults.map((fallback, i) => upstreamUrl(extracted.upstreams[i] ?? fallback));
  const { secret: _secret, upstreams: _upstreams, ...rest } = extracted;
  return {
    ...rest,
    provider: profile.provider,
    upstreams,
    credential: new Secret(extracted.secret),
    taskToken: new Secret(profile.taskToken),
    expiresAt: profile.expiresAt,
  };
}

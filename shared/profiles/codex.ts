import { stringify } from 'smol-toml';
import { type CliProfile, env, file, json, type ProfileInput } from '#shared/profiles/types.ts';

/** The custom provider id Keyfleet writes into `config.toml`. */
export const CODEX_PROVIDER_ID = 'keyfleet';
/** The variable that carries an API key to Codex's custom provider (`env_key`). */
export const CODEX_KEY_VARIABLE = 'KEYFLEET_CODEX_API_KEY';

/** What one kind of account adds to Codex's `config.toml`, its files and its variables. */
interface CodexPart {
  config: Record<string, unknown>;
  files: ReturnType<typeof file>[];
  variables: Record<string, string | undefined>;
}

/**
 * A custom Responses provider named {@link CODEX_PROVIDER_ID} at `baseUrl`, chosen as the model
 * provider; `before` comes between the choice and the table (key order is what the golden files pin).
 */
function customProvider(
  baseUrl: string,
  details: Record<string, unknown>,
  before: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model_provider: CODEX_PROVIDER_ID,
    ...before,
    model_providers: {
      [CODEX_PROVIDER_ID]: { name: CODEX_PROVIDER_ID, base_url: baseUrl, wire_api: 'responses', ...details },
    },
  };
}

/** OAuth: the pooled account's tokens with the task token as the refresh token; refreshes go to Keyfleet. */
function oauthPart(input: ProfileInput): CodexPart {
  const { provider, tokens } = input;
  const auth = {
    OPENAI_API_KEY: null,
    tokens: {
      id_token: tokens?.id_token ?? null,
      access_token: tokens?.access_token ?? null,
      refresh_token: input.taskToken,
      account_id: tokens?.account_id ?? null,
    },
    last_refresh: new Date(input.now).toISOString(),
  };
  // A gateway in front of the ChatGPT backend: a custom provider that still uses auth.json.
  const gateway = provider.cliBaseUrl
    ? customProvider(
        provider.cliBaseUrl,
        { requires_openai_auth: true },
        provider.cliChatgptBaseUrl ? { chatgpt_base_url: provider.cliChatgptBaseUrl } : {},
      )
    : {};
  return {
    config: gateway,
    files: [file('.codex/auth.json', json(auth))],
    variables: { CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${input.apiUrl}/v1/oauth/codex/token` },
  };
}

/** An API key or a keyless server: a custom provider at the account's endpoint, or OpenAI's own. */
function keyPart(input: ProfileInput): CodexPart {
  const { account } = input;
  if (!account.endpoint) {
    // API key on OpenAI's own endpoint: the CLI reads it from auth.json.
    return {
      config: {},
      files: [file('.codex/auth.json', json({ OPENAI_API_KEY: input.apiKey ?? null }))],
      variables: {},
    };
  }
  const withKey = account.kind === 'api_key';
  const config = customProvider(account.endpoint.baseUrl, {
    ...(withKey ? { env_key: CODEX_KEY_VARIABLE } : {}),
    ...(account.endpoint.apiVersion ? { query_params: { 'api-version': account.endpoint.apiVersion } } : {}),
  });
  return { config, files: [], variables: withKey ? { [CODEX_KEY_VARIABLE]: input.apiKey } : {} };
}

/**
 * Codex CLI. OAuth accounts get `auth.json` with the pooled account's current access and id tokens
 * and, as `refresh_token`, the task token; `CODEX_REFRESH_TOKEN_URL_OVERRIDE` sends every refresh to
 * Keyfleet, which answers with the pooled account's current tokens. The real (rotating) refresh
 * token never leaves the vault. API-key and keyless accounts use a custom Responses provider.
 */
export function codexProfile(input: ProfileInput): CliProfile {
  const part = input.account.kind === 'oauth' ? oauthPart(input) : keyPart(input);
  const config = {
    check_for_update_on_startup: false,
    ...(input.model ? { model: input.model } : {}),
    ...(input.effort ? { model_reasoning_effort: input.effort } : {}),
    ...part.config,
    features: { plugins: false, apps: false },
    analytics: { enabled: false },
    otel: { metrics_exporter: 'none' },
  };
  return {
    env: env(part.variables),
    files: [
      ...part.files,
      file(
        '.codex/config.toml',
        `${stringify(config)}
`,
      ),
    ],
  };
}

import { stringify } from 'smol-toml';
import { type CliProfile, env, file, json, type ProfileInput } from '#shared/profiles/types.ts';

/** The custom provider id Keyfleet writes into `config.toml`. */
export const CODEX_PROVIDER_ID = 'keyfleet';
/** The variable that carries an API key to Codex's custom provider (`env_key`). */
export const CODEX_KEY_VARIABLE = 'KEYFLEET_CODEX_API_KEY';

/**
 * Codex CLI. OAuth accounts get `auth.json` with the pooled account's current access and id tokens
 * and, as `refresh_token`, the task token; `CODEX_REFRESH_TOKEN_URL_OVERRIDE` sends every refresh to
 * Keyfleet, which answers with the pooled account's current tokens. The real (rotating) refresh
 * token never leaves the vault. API-key and keyless accounts use a custom Responses provider.
 */
export function codexProfile(input: ProfileInput): CliProfile {
  const { account, provider } = input;
  const config: Record<string, unknown> = {
    check_for_update_on_startup: false,
    ...(input.model ? { model: input.model } : {}),
    ...(input.effort ? { model_reasoning_effort: input.effort } : {}),
  };
  const files = [];
  let variables: Record<string, string | undefined> = {};

  if (account.kind === 'oauth') {
    const tokens = input.tokens;
    files.push(
      file(
        '.codex/auth.json',
        json({
          OPENAI_API_KEY: null,
          tokens: {
            id_token: tokens?.id_token ?? null,
            access_token: tokens?.access_token ?? null,
            refresh_token: input.taskToken,
            account_id: tokens?.account_id ?? null,
          },
          last_refresh: new Date(input.now).toISOString(),
        }),
      ),
    );
    variables = { CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${input.apiUrl}/v1/oauth/codex/token` };
    if (provider.cliBaseUrl) {
      // A gateway in front of the ChatGPT backend: a custom provider that still uses auth.json.
      config.model_provider = CODEX_PROVIDER_ID;
      if (provider.cliChatgptBaseUrl) config.chatgpt_base_url = provider.cliChatgptBaseUrl;
      config.model_providers = {
        [CODEX_PROVIDER_ID]: {
          name: CODEX_PROVIDER_ID,
          base_url: provider.cliBaseUrl,
          wire_api: 'responses',
          requires_openai_auth: true,
        },
      };
    }
  } else if (account.endpoint) {
    config.model_provider = CODEX_PROVIDER_ID;
    config.model_providers = {
      [CODEX_PROVIDER_ID]: {
        name: CODEX_PROVIDER_ID,
        base_url: account.endpoint.baseUrl,
        wire_api: 'responses',
        ...(account.kind === 'api_key' ? { env_key: CODEX_KEY_VARIABLE } : {}),
        ...(account.endpoint.apiVersion ? { query_params: { 'api-version': account.endpoint.apiVersion } } : {}),
      },
    };
    if (account.kind === 'api_key') variables = { [CODEX_KEY_VARIABLE]: input.apiKey };
  } else {
    // API key on OpenAI's own endpoint: the CLI reads it from auth.json.
    files.push(file('.codex/auth.json', json({ OPENAI_API_KEY: input.apiKey ?? null })));
  }

  Object.assign(config, {
    features: { plugins: false, apps: false },
    analytics: { enabled: false },
    otel: { metrics_exporter: 'none' },
  });
  files.push(file('.codex/config.toml', `${stringify(config)}\n`));
  return { env: env(variables), files };
}

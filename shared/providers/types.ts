/** The five providers Keyfleet knows. The order is the order the API lists them in. */
export const PROVIDER_IDS = ['claude', 'codex', 'gemini', 'bob', 'grok'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** The endpoint presets an account may pick besides `default` and `custom` (PROVIDERS.md). */
export const ENDPOINT_PRESETS = ['responses_hosted', 'responses_local', 'azure'] as const;
export type EndpointPreset = (typeof ENDPOINT_PRESETS)[number];

/**
 * The wire shape of the provider's public API for API-key accounts: `anthropic` (Messages),
 * `openai` (Responses; also OpenAI-compatible servers and Azure), `gemini` (generateContent).
 */
export type ApiDialect = 'anthropic' | 'openai' | 'gemini';

/**
 * How a provider's allowance endpoint (`usageEndpoint`) is called and read (`shared/usage/read.ts`):
 * `anthropic_oauth` (Claude's `GET …/api/oauth/usage`), `chatgpt_wham` (ChatGPT's `GET …/wham/usage`
 * with the workspace id), `code_assist` (Code Assist's `:loadCodeAssist`, then `:retrieveUserQuota`).
 */
export type UsageApi = 'anthropic_oauth' | 'chatgpt_wham' | 'code_assist';

/** How a person signs in: paste `code#state`, paste the redirected URL, or approve a device code. */
export type SignInFlow = 'code' | 'redirect_url' | 'device';

/** Where the account's email (used for its default label) comes from after sign-in. */
export type EmailSource = 'token_response' | 'id_token' | 'userinfo' | 'none';

/**
 * The OAuth side of a provider. Every field can be replaced through `KEYFLEET_PROVIDER_OVERRIDES`,
 * which is how tests point a provider at a local server and how a team follows an upstream move.
 */
export interface OAuthSettings {
  /** OIDC issuer; when the endpoints below are absent they are discovered from it. */
  issuer: string | undefined;
  authorizationEndpoint: string | undefined;
  tokenEndpoint: string | undefined;
  deviceAuthorizationEndpoint: string | undefined;
  userinfoEndpoint: string | undefined;
  clientId: string | undefined;
  /** Only for providers whose installed-app client has a (public by design) secret. */
  clientSecret: string | undefined;
  redirectUri: string | undefined;
  scopes: string[];
  /** Added to the authorize URL as the provider's own CLI does. */
  extraAuthorizeParams: Record<string, string>;
  /** Body encoding of token requests (Claude's endpoint takes JSON; the others take forms). */
  tokenRequestFormat: 'json' | 'form';
  /** Sent on token requests; Claude's endpoint rejects unknown clients. */
  userAgent: string | undefined;
  emailSource: EmailSource;
}

export interface ProviderDefinition {
  id: ProviderId;
  name: string;
  /** The agent CLI this provider's accounts are used with. */
  cli: string;
  signIn: SignInFlow;
  oauth: OAuthSettings;
  /**
   * Single-use refresh tokens: a lost or doubled refresh kills the account. `null` = unknown.
   * Read through `refreshTokenShareable()`.
   */
  refreshTokenRotates: boolean | null;
  /**
   * The CLI fetches new access tokens from Keyfleet during a task (Codex's refresh URL, Grok's
   * auth-provider command), so an access token that ends before the task does is renewed.
   */
  renewsThroughKeyfleet: boolean;
  /** Refresh ahead of expiry by at least this much (keep-alive lead time). */
  refreshLeadMinutes: number;
  /** The provider's public API for API-key accounts (used by the test action and helpers). */
  apiBaseUrl: string | undefined;
  /** How that API is spoken (see `shared/providers/api.ts`). */
  apiDialect: ApiDialect;
  /** Endpoint presets an account of this provider may use (Codex's Responses, LM Studio and Azure). */
  endpointPresets: readonly EndpointPreset[];
  /** Whether an account endpoint may carry an `api-version` (Azure OpenAI, Vertex-style gateways). */
  endpointApiVersion: boolean;
  /**
   * Where the agent CLI sends model calls for OAuth accounts (a team gateway, or a local fake in
   * tests); unset means the CLI's own default endpoint.
   */
  cliBaseUrl: string | undefined;
  /** Codex only: the ChatGPT backend base (`chatgpt_base_url`) for the same purpose. */
  cliChatgptBaseUrl: string | undefined;
  /**
   * Where an OAuth account's allowance (usage windows) is read with its own access token: the
   * endpoint the provider's CLI uses (`shared/providers/usage-endpoints.ts`); unset means unknown.
   */
  usageEndpoint: string | undefined;
  /**
   * The answer shape of `usageEndpoint`; null means the provider has no allowance API Keyfleet can
   * read, and its allowance stays unknown even if an override names an endpoint.
   */
  usageApi: UsageApi | null;
  /**
   * `keyfleet proxy` serves this provider's OAuth and API-key accounts: `shared/proxy/routes.ts`
   * has a route for each kind, and the proxy an agent profile and a grant reader for it.
   */
  proxy: boolean;
  /** The commit-message and task-name helpers can use this provider. */
  helpers: boolean;
  /** The helpers' model when the provider's settings name none; set wherever `helpers` is true. */
  helperModel: string | undefined;
  /** Effort levels the CLI accepts (per model where the provider varies it by model). */
  efforts: readonly string[] | Readonly<Record<string, readonly string[]>>;
}

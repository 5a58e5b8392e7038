import * as z from 'zod/mini';
import { config } from '#shared/config.ts';
import { ConfigError, UnknownProviderError } from '#shared/errors.ts';
import { checkEndpointUrl } from '#shared/net/urls.ts';
import { BUILT_IN_PROVIDERS, isProviderId } from '#shared/providers/built-in.ts';
import { PROVIDER_IDS, type ProviderDefinition, type ProviderId } from '#shared/providers/types.ts';

export { isProviderId } from '#shared/providers/built-in.ts';
export * from '#shared/providers/types.ts';

const endpoint = z.string().check(
  z.superRefine((value, ctx) => {
    const checked = checkEndpointUrl(value);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: `URL ${checked.reason}` });
  }),
);
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

/** One provider's override: any OAuth field, plus a few provider-level ones. Unknown keys are errors. */
const overrideSchema = z.strictObject({
  name: z.optional(text(1, 60)),
  refreshLeadMinutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(7 * 24 * 60))),
  apiBaseUrl: z.optional(endpoint),
  cliBaseUrl: z.optional(endpoint),
  cliChatgptBaseUrl: z.optional(endpoint),
  usageEndpoint: z.optional(endpoint),
  issuer: z.optional(endpoint),
  authorizationEndpoint: z.optional(endpoint),
  tokenEndpoint: z.optional(endpoint),
  deviceAuthorizationEndpoint: z.optional(endpoint),
  userinfoEndpoint: z.optional(endpoint),
  clientId: z.optional(text(1, 256)),
  clientSecret: z.optional(text(1, 512)),
  redirectUri: z.optional(z.string().check(z.url(), z.maxLength(2048))),
  scopes: z.optional(z.array(text(1, 200)).check(z.maxLength(50))),
  extraAuthorizeParams: z.optional(z.record(z.string(), z.string().check(z.maxLength(500)))),
  tokenRequestFormat: z.optional(z.enum(['json', 'form'])),
  userAgent: z.optional(text(1, 200)),
  emailSource: z.optional(z.enum(['token_response', 'id_token', 'userinfo', 'none'])),
});
const overridesSchema = z.partialRecord(z.enum(PROVIDER_IDS), overrideSchema);
export type ProviderOverride = z.infer<typeof overrideSchema>;

/**
 * Whether an override points sign-in at another OAuth server. Its tokens are that server's, so the
 * provider's built-in usage endpoint must not receive them: the allowance is unknown unless the
 * same override names a `usageEndpoint` too.
 */
function movesIssuer(oauth: Partial<ProviderOverride>): boolean {
  return [oauth.issuer, oauth.authorizationEndpoint, oauth.tokenEndpoint, oauth.deviceAuthorizationEndpoint].some(
    (value) => value !== undefined,
  );
}

/**
 * Applies `overrides` (the parsed `KEYFLEET_PROVIDER_OVERRIDES`) to the built-in definitions.
 * Overriding the OAuth endpoints without `usageEndpoint` leaves the allowance unknown (see {@link movesIssuer}).
 */
export function buildProviders(overrides: unknown): ReadonlyMap<ProviderId, ProviderDefinition> {
  const parsed = overridesSchema.safeParse(overrides ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`KEYFLEET_PROVIDER_OVERRIDES is invalid: ${problems.join('; ')}`);
  }
  const result = new Map<ProviderId, ProviderDefinition>();
  for (const id of PROVIDER_IDS) {
    const base = BUILT_IN_PROVIDERS[id];
    const { name, refreshLeadMinutes, apiBaseUrl, cliBaseUrl, cliChatgptBaseUrl, usageEndpoint, ...oauth } =
      parsed.data[id] ?? {};
    result.set(id, {
      ...base,
      name: name ?? base.name,
      refreshLeadMinutes: refreshLeadMinutes ?? base.refreshLeadMinutes,
      apiBaseUrl: apiBaseUrl ?? base.apiBaseUrl,
      cliBaseUrl: cliBaseUrl ?? base.cliBaseUrl,
      cliChatgptBaseUrl: cliChatgptBaseUrl ?? base.cliChatgptBaseUrl,
      usageEndpoint: usageEndpoint ?? (movesIssuer(oauth) ? undefined : base.usageEndpoint),
      oauth: { ...base.oauth, ...oauth },
    });
  }
  return result;
}

let registry: ReadonlyMap<ProviderId, ProviderDefinition> | undefined;

function providers(): ReadonlyMap<ProviderId, ProviderDefinition> {
  registry ??= buildProviders(config().providerOverrides);
  return registry;
}

/** The effective definition of `id`, or `unknown_provider`. */
export function getProvider(id: string): ProviderDefinition {
  if (!isProviderId(id)) throw new UnknownProviderError(id);
  const found = providers().get(id);
  if (!found) throw new UnknownProviderError(id);
  return found;
}

/** All five, in API order. */
export function listProviders(): ProviderDefinition[] {
  return PROVIDER_IDS.map((id) => getProvider(id));
}

/**
 * Whether the provider is an OpenID provider (`openid` among its scopes): only then is an ID token
 * asked for and required at sign-in. Plain OAuth 2.0 servers (Google's installed-app flow as Gemini
 * CLI uses it, Bob's backend) answer without one, and the email comes from their user-info endpoint.
 */
export function isOpenIdProvider(provider: ProviderDefinition): boolean {
  return provider.oauth.scopes.includes('openid');
}

/**
 * Whether one refresh token may be held by several parties at once: only when the provider's
 * refresh tokens do not rotate (Google). A rotating (or unknown) one must stay with the refresh
 * routine, or the copies invalidate each other and the account.
 */
export function refreshTokenShareable(provider: ProviderDefinition): boolean {
  return provider.refreshTokenRotates === false;
}

/** Whether OAuth sign-in can start: endpoints known (directly or via discovery) and a client id. */
export function oauthConfigured(provider: ProviderDefinition): boolean {
  const o = provider.oauth;
  if (!o.clientId) return false;
  if (o.issuer) return true;
  if (provider.signIn === 'device') return Boolean(o.deviceAuthorizationEndpoint && o.tokenEndpoint);
  return Boolean(o.authorizationEndpoint && o.tokenEndpoint && o.redirectUri);
}

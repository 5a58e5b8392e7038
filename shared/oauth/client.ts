import * as openid from 'openid-client';
import * as z from 'zod/mini';
import { ConflictError, UpstreamError } from '#shared/errors.ts';
import { logger } from '#shared/log/logger.ts';
import { redactText } from '#shared/log/redact.ts';
import { retryAfterAt } from '#shared/net/retry-after.ts';
import { oauthConfigured, type ProviderDefinition } from '#shared/providers/index.ts';

/** What the provider answered to a call that failed, as far as classifying the failure needs. */
export interface ProviderAnswer {
  /** `undefined` when no HTTP answer came (network, timeout). */
  status: number | undefined;
  retryAfterSeconds: number | undefined;
  /** The OAuth `error` (or OpenAI-style `error.code`) of an error response. */
  errorCode: string | undefined;
}

/** The HTTP response an openid-client error was raised for, if any. */
function responseOf(error: unknown): Response | undefined {
  if (error instanceof openid.ResponseBodyError || error instanceof openid.WWWAuthenticateChallengeError) {
    return error.response;
  }
  // Unexpected status or content type: openid-client puts the response itself in `cause`.
  if (error instanceof openid.ClientError && error.cause instanceof Response) return error.cause;
  return undefined;
}

/**
 * Reads status, Retry-After and error code from the response openid-client attached to `error`
 * (`ResponseBodyError`, `WWWAuthenticateChallengeError`, or a `ClientError` about an unexpected
 * status or content type). All `undefined` when the call got no answer at all.
 */
export async function providerAnswer(error: unknown): Promise<ProviderAnswer> {
  const response = responseOf(error);
  if (!response) return { status: undefined, retryAfterSeconds: undefined, errorCode: undefined };
  const now = Date.now();
  const at = retryAfterAt(response.headers.get('retry-after'), now);
  const errorCode = codeWord(
    error instanceof openid.ResponseBodyError
      ? error.error
      : response.status >= 400
        ? await errorCodeOf(response)
        : undefined,
  );
  return {
    status: response.status,
    retryAfterSeconds: at === undefined ? undefined : Math.max(0, at - now) / 1000,
    errorCode,
  };
}

/** How long one provider call (discovery, token, user-info) may take before it is aborted. */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The fetch every provider call goes through: a timeout, the provider's User-Agent, and JSON
 * bodies for providers whose token endpoint takes JSON (Claude).
 */
function providerFetch(provider: ProviderDefinition): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    if (provider.oauth.userAgent) headers.set('user-agent', provider.oauth.userAgent);
    let body = init?.body;
    if (provider.oauth.tokenRequestFormat === 'json' && body instanceof URLSearchParams) {
      body = JSON.stringify(Object.fromEntries(body));
      headers.set('content-type', 'application/json');
    }
    return fetch(input, { ...init, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }) as typeof fetch;
}

/**
 * The provider's error code: only its leading code-like word, with any secret this process knows
 * scrubbed (it ends up in `lastError`, which members see), so a gateway that echoes the request in
 * its `error` carries nothing further.
 */
function codeWord(code: unknown): string | undefined {
  const word = typeof code === 'string' ? /^[\w.-]{1,64}/.exec(code.trim())?.[0] : undefined;
  return word ? redactText(word) : undefined;
}

async function errorCodeOf(response: Response): Promise<unknown> {
  try {
    // A clone: the body may have been read (or cancelled) already, and then there is no code to find.
    const body = (await response.clone().json()) as { error?: unknown };
    return typeof body.error === 'string' ? body.error : (body.error as { code?: unknown } | undefined)?.code;
  } catch {
    return undefined;
  }
}

function usesHttp(provider: ProviderDefinition): boolean {
  const o = provider.oauth;
  return [o.issuer, o.authorizationEndpoint, o.tokenEndpoint, o.deviceAuthorizationEndpoint, o.userinfoEndpoint].some(
    (u) => u?.startsWith('http:'),
  );
}

const cache = new Map<string, Promise<openid.Configuration>>();

/** OIDC discovery at the provider's issuer; an unreachable or broken issuer is the provider's failure (502). */
async function discover(
  provider: ProviderDefinition,
  issuer: string,
  auth: openid.ClientAuth,
  insecure: boolean,
  customFetch: typeof fetch,
): Promise<openid.Configuration> {
  try {
    return await openid.discovery(new URL(issuer), provider.oauth.clientId ?? '', undefined, auth, {
      execute: insecure ? [openid.allowInsecureRequests] : [],
      [openid.customFetch]: customFetch,
    });
  } catch (error) {
    logger.warn('provider discovery failed', { provider: provider.id, error });
    throw new UpstreamError(
      `${provider.name} did not answer the discovery request (its OpenID configuration at ${new URL(issuer).origin}); try again later.`,
      { cause: error },
    );
  }
}

async function build(provider: ProviderDefinition): Promise<openid.Configuration> {
  const o = provider.oauth;
  const clientId = o.clientId ?? '';
  const auth = o.clientSecret ? openid.ClientSecretPost(o.clientSecret) : openid.None();
  const insecure = usesHttp(provider);
  const customFetch = providerFetch(provider);
  let configuration: openid.Configuration;
  const explicit = o.tokenEndpoint && (o.authorizationEndpoint || o.deviceAuthorizationEndpoint);
  if (o.issuer && !explicit) {
    configuration = await discover(provider, o.issuer, auth, insecure, customFetch);
  } else {
    const issuer = o.issuer ?? new URL(o.authorizationEndpoint ?? o.tokenEndpoint ?? '').origin;
    configuration = new openid.Configuration(
      {
        issuer,
        authorization_endpoint: o.authorizationEndpoint,
        token_endpoint: o.tokenEndpoint,
        device_authorization_endpoint: o.deviceAuthorizationEndpoint,
        userinfo_endpoint: o.userinfoEndpoint,
      },
      clientId,
      undefined,
      auth,
    );
    if (insecure) openid.allowInsecureRequests(configuration);
  }
  configuration[openid.customFetch] = customFetch;
  return configuration;
}

/**
 * The openid-client configuration of a provider (discovered once per process when only an issuer
 * is known). Throws `conflict` naming what to configure when the provider has no endpoints.
 */
export function oauthConfiguration(provider: ProviderDefinition): Promise<openid.Configuration> {
  if (!oauthConfigured(provider)) {
    throw new ConflictError(
      `${provider.name} sign-in is not configured: set authorizationEndpoint, tokenEndpoint, clientId and redirectUri (or an issuer) for "${provider.id}" in KEYFLEET_PROVIDER_OVERRIDES, or add an API-key account instead.`,
    );
  }
  const key = `${provider.id}:${JSON.stringify(provider.oauth)}`;
  let found = cache.get(key);
  if (!found) {
    found = build(provider).catch((error: unknown) => {
      cache.delete(key);
      throw error;
    });
    cache.set(key, found);
  }
  return found;
}

/** Lenient on purpose: Google's v2 answer has no `sub`, and plain OAuth 2.0 backends answer profiles of their own. */
const userinfoAnswer = z.object({ email: z.string().check(z.maxLength(320)) });

/**
 * The `email` of the provider's user-info answer: a plain GET with the access token as bearer,
 * without openid-client's OIDC checks (they require `sub`). `undefined` when the provider has no
 * user-info endpoint, refuses the token, or answers without an email.
 */
export async function userinfoEmail(request: {
  provider: ProviderDefinition;
  configuration: openid.Configuration;
  accessToken: string;
}): Promise<string | undefined> {
  const { provider, configuration, accessToken } = request;
  const endpoint = provider.oauth.userinfoEndpoint ?? configuration.serverMetadata().userinfo_endpoint;
  if (!endpoint) return undefined;
  const url = new URL(endpoint);
  // The bearer goes over TLS only, unless the provider is configured on loopback http (tests, local peers).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && usesHttp(provider))) return undefined;
  try {
    const response = await providerFetch(provider)(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    });
    if (!response.ok) {
      logger.warn('provider user-info request refused', { provider: provider.id, status: response.status });
      return undefined;
    }
    const parsed = userinfoAnswer.safeParse(await response.json());
    return parsed.success ? parsed.data.email : undefined;
  } catch (error) {
    logger.warn('provider user-info request failed', { provider: provider.id, error });
    return undefined;
  }
}

import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * How the operator CLI proves who it is:
 * - `bearer`: local mode's tokens (`KEYFLEET_TOKEN`);
 * - `jwt`: a JWT from the team's OpenID provider for stacks with the JWT authorizer (`KEYFLEET_JWT`);
 * - `iam`: SigV4 for the `execute-api` service, credentials from the standard AWS chain.
 */
export type Auth =
  | { kind: 'bearer'; token: string }
  | { kind: 'jwt'; token: string }
  | { kind: 'iam'; region: string; credentials: AwsCredentialIdentityProvider };

export interface ApiClient {
  baseUrl: URL;
  auth: Auth;
  /** Injectable for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** An answer of the API other than 2xx, with the contract's error code and message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A problem with how the CLI was called or configured (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The execute-api region from an API Gateway host name, e.g. `abc.execute-api.eu-west-1.amazonaws.com`. */
export function regionFromHost(hostname: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname)?.[1];
}

/**
 * Reads `KEYFLEET_URL` and the credentials from the environment. `KEYFLEET_AUTH` (`bearer`, `jwt`,
 * `iam`) chooses explicitly; otherwise a token, then a JWT, then IAM.
 */
export function clientFromEnv(env: Record<string, string | undefined>): ApiClient {
  const raw = env.KEYFLEET_URL?.trim();
  if (!raw) throw new UsageError('KEYFLEET_URL is not set: the Keyfleet API to talk to (e.g. http://127.0.0.1:8787).');
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw);
  } catch {
    throw new UsageError(`KEYFLEET_URL is not a valid URL: ${raw.slice(0, 100)}`);
  }
  const chosen = env.KEYFLEET_AUTH?.trim() || (env.KEYFLEET_TOKEN ? 'bearer' : env.KEYFLEET_JWT ? 'jwt' : 'iam');
  if (chosen === 'bearer') {
    if (!env.KEYFLEET_TOKEN) throw new UsageError('KEYFLEET_AUTH=bearer needs KEYFLEET_TOKEN.');
    return { baseUrl, auth: { kind: 'bearer', token: env.KEYFLEET_TOKEN } };
  }
  if (chosen === 'jwt') {
    if (!env.KEYFLEET_JWT) throw new UsageError('KEYFLEET_AUTH=jwt needs KEYFLEET_JWT.');
    return { baseUrl, auth: { kind: 'jwt', token: env.KEYFLEET_JWT } };
  }
  if (chosen !== 'iam')
    throw new UsageError(`KEYFLEET_AUTH must be bearer, jwt or iam (got "${chosen.slice(0, 20)}").`);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || regionFromHost(baseUrl.hostname);
  if (!region) throw new UsageError('IAM auth needs AWS_REGION (or an execute-api URL that names its region).');
  return { baseUrl, auth: { kind: 'iam', region, credentials: lazyCredentialChain() } };
}

/**
 * The standard AWS credential chain, loaded on first use: most runs of the `keyfleet` bin (inside
 * containers, or with a token) never need it, and it is most of the bundle.
 */
function lazyCredentialChain(): AwsCredentialIdentityProvider {
  let chain: AwsCredentialIdentityProvider | undefined;
  return async (options) => {
    chain ??= (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
    return chain(options);
  };
}

/** The request as it goes on the wire, signed with SigV4 when the client uses IAM. */
export async function prepareRequest(
  client: ApiClient,
  method: string,
  url: URL,
  body: string | undefined,
): Promise<{ headers: Record<string, string> }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const { auth } = client;
  if (auth.kind !== 'iam') {
    headers.authorization = `Bearer ${auth.token}`;
    return { headers };
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region: auth.region,
    credentials: auth.credentials,
    sha256: Sha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    body,
  });
  return { headers: signed.headers };
}

/**
 * One API call. Answers the parsed JSON body (undefined for 204); any non-2xx answer becomes an
 * {@link ApiError} carrying the API's own code and message.
 */
export async function callApi<T = Record<string, unknown>>(
  client: ApiClient,
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string | undefined> } = {},
): Promise<{ status: number; body: T }> {
  const url = new URL(
    path.replace(/^\//, ''),
    client.baseUrl.href.endsWith('/') ? client.baseUrl : `${client.baseUrl.href}/`,
  );
  for (const [name, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) url.searchParams.set(name, value);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const { headers } = await prepareRequest(client, method, url, body);
  let response: Response;
  try {
    response = await (client.fetch ?? fetch)(url, { method, headers, body, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new ApiError(
      0,
      'unreachable',
      `Could not reach Keyfleet at ${client.baseUrl.origin}: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = error?.code ?? (response.status === 403 && client.auth.kind === 'iam' ? 'forbidden' : 'http_error');
    throw new ApiError(response.status, code, error?.message ?? `Keyfleet answered HTTP ${response.status}.`);
  }
  return { status: response.status, body: parsed as T };
}

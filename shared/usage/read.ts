import { type OutboundInit, type OutboundResponse, outboundFailure, outboundRequest } from '#shared/net/outbound.ts';
import { retryAfterAt } from '#shared/net/retry-after.ts';
import { BUILT_IN_PROVIDERS } from '#shared/providers/built-in.ts';
import type { ProviderId, UsageApi } from '#shared/providers/types.ts';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/usage/endpoints.ts';
import { parseClaudeUsage, parseCodexUsage, parseGeminiQuota, parseLoadCodeAssist } from '#shared/usage/parse.ts';
import type { AccountUsage, UsageFailure, UsageResult } from '#shared/usage/types.ts';

/** How a usage call goes out: {@link outboundRequest} (address guard, timeout) unless a test injects one. */
export type UsageTransport = (url: URL, init: OutboundInit) => Promise<OutboundResponse>;

/** Who is asking: one account's credential, as the vault holds it. */
export interface UsageReadInput {
  provider: ProviderId;
  accessToken: string;
  /** Codex: the ChatGPT account id (`account_id` in the stored tokens), sent as `ChatGPT-Account-Id`. */
  chatgptAccountId?: string | null;
}

export interface UsageReadOptions {
  /** The effective endpoints (the provider definitions' `usageEndpoint`); the built-in ones by default. */
  endpoints?: Readonly<Record<ProviderId, string | undefined>>;
  transport?: UsageTransport;
  /** Per call; default 10 s. */
  timeoutMs?: number;
  /** Sent as `User-Agent` (e.g. the provider definition's `oauth.userAgent`). */
  userAgent?: string | undefined;
  now?: () => number;
}

/** The Code Assist client metadata Gemini CLI sends with `loadCodeAssist`. */
const CODE_ASSIST_METADATA = { ideType: 'IDE_UNSPECIFIED', platform: 'PLATFORM_UNSPECIFIED', pluginType: 'GEMINI' };

type Call = { ok: true; body: Record<string, unknown> } | UsageFailure;

function failure(
  kind: UsageFailure['kind'],
  detail: string,
  status: number | null,
  retryAfterMs = null as number | null,
) {
  return { ok: false, kind, detail, status, retryAfterMs } satisfies UsageFailure;
}

/** `Retry-After` as milliseconds from `now` (never negative); null when unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const at = retryAfterAt(header, now);
  return at === undefined ? null : Math.max(0, at - now);
}

/** One call: never throws; maps every way it can go wrong to a {@link UsageFailure} with a fixed phrase. */
async function call(url: string, init: OutboundInit, options: UsageReadOptions): Promise<Call> {
  const send = options.transport ?? outboundRequest;
  let response: OutboundResponse;
  try {
    response = await send(new URL(url), { timeoutMs: options.timeoutMs ?? 10_000, ...init });
  } catch (error) {
    const phrase = outboundFailure(error);
    return { ...failure('network', `the usage endpoint could not be reached: ${phrase}`, null), network: phrase };
  }
  const { status } = response;
  if (status === 401 || status === 403)
    return failure('unauthorized', 'the usage endpoint refused the access token', status);
  if (status === 429) {
    const wait = retryAfterMs(response.headers['retry-after'], (options.now ?? Date.now)());
    return failure('rate_limited', 'the usage endpoint is rate limited', status, wait);
  }
  if (status < 200 || status > 299)
    return failure('upstream_status', `the usage endpoint answered HTTP ${status}`, status);
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return failure('bad_response', 'the usage endpoint answered something other than a JSON object', status);
  }
  return { ok: true, body: body as Record<string, unknown> };
}

function headers(
  accessToken: string,
  options: UsageReadOptions,
  extra: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json', ...extra };
  if (options.userAgent) out['user-agent'] = options.userAgent;
  return out;
}

async function readGemini(
  base: string,
  input: UsageReadInput,
  options: UsageReadOptions,
  readAt: () => string,
): Promise<UsageResult> {
  const json = { 'content-type': 'application/json' };
  const loaded = await call(
    `${base}:loadCodeAssist`,
    {
      method: 'POST',
      headers: headers(input.accessToken, options, json),
      body: JSON.stringify({ metadata: CODE_ASSIST_METADATA }),
    },
    options,
  );
  if (!loaded.ok) return loaded;
  const { project, tier } = parseLoadCodeAssist(loaded.body);
  // Not onboarded to Code Assist yet: the tier is known, the quotas are not.
  if (!project) return { ok: true, usage: { plan: tier, readAt: readAt(), windows: [], credits: null } };
  const quota = await call(
    `${base}:retrieveUserQuota`,
    { method: 'POST', headers: headers(input.accessToken, options, json), body: JSON.stringify({ project }) },
    options,
  );
  if (!quota.ok) return quota;
  return { ok: true, usage: parseGeminiQuota(quota.body, tier, readAt()) };
}

type Reader = (
  endpoint: string,
  input: UsageReadInput,
  options: UsageReadOptions,
  readAt: () => string,
) => Promise<UsageResult>;

/** One GET whose JSON answer one parser reads (Claude's and Codex's allowance APIs). */
async function readGet(
  request: {
    endpoint: string;
    extra: Record<string, string>;
    parse: (body: Record<string, unknown>, readAt: string) => AccountUsage;
  },
  input: UsageReadInput,
  options: UsageReadOptions,
  readAt: () => string,
): Promise<UsageResult> {
  const init = { method: 'GET', headers: headers(input.accessToken, options, request.extra) };
  const answer = await call(request.endpoint, init, options);
  if (!answer.ok) return answer;
  return { ok: true, usage: request.parse(answer.body, readAt()) };
}

/**
 * How each allowance API is called and read; the provider definition's `usageApi` picks one.
 * Plain functions only, so bundles that import this module for something else can drop the table.
 */
const READERS: Readonly<Record<UsageApi, Reader>> = {
  anthropic_oauth: (endpoint, input, options, readAt) =>
    readGet(
      { endpoint, extra: { 'anthropic-beta': 'oauth-2025-04-20' }, parse: parseClaudeUsage },
      input,
      options,
      readAt,
    ),
  chatgpt_wham: (endpoint, input, options, readAt) => {
    const extra: Record<string, string> = input.chatgptAccountId
      ? { 'chatgpt-account-id': input.chatgptAccountId }
      : {};
    return readGet({ endpoint, extra, parse: parseCodexUsage }, input, options, readAt);
  },
  code_assist: readGemini,
};

/**
 * Reads one OAuth account's allowance with its own access token from the endpoint its provider's
 * CLI uses, in the shape its definition's `usageApi` names. Never throws: a refusal, rate limit,
 * server error, timeout or unreadable body is a typed {@link UsageFailure} whose `detail` is a fixed
 * phrase (no response text, no token). Providers without such an API (Grok, Bob) or without an
 * endpoint (configured away) are `unsupported`, and nothing is sent.
 */
export async function readUsage(input: UsageReadInput, options: UsageReadOptions = {}): Promise<UsageResult> {
  const endpoint = (options.endpoints ?? DEFAULT_USAGE_ENDPOINTS)[input.provider];
  const api = BUILT_IN_PROVIDERS[input.provider]?.usageApi;
  const readAt = () => new Date((options.now ?? Date.now)()).toISOString();
  if (!api || !endpoint || !input.accessToken) {
    return failure('unsupported', `${input.provider} has no usage endpoint with a known answer shape`, null);
  }
  try {
    return await READERS[api](endpoint, input, options, readAt);
  } catch {
    // Unreachable by design (the parsers do not throw); kept so a future bug cannot reach a launch.
    return failure('bad_response', 'the usage answer could not be read', null);
  }
}

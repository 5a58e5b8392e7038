import type { IncomingHttpHeaders } from 'node:http';
import { retryAfterAt } from '#shared/net/retry-after.ts';
import type { LimitDialect } from '#shared/proxy/routes.ts';

/** An upstream said the account is limited until `resetsAt` (epoch ms). */
export interface RateLimitSignal {
  resetsAt: number;
  window?: string;
}

/** What a limit answer looks like to a reader: status, headers, and the JSON body when small. */
export interface LimitAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  now: number;
}

/** When a 429 names no reset at all, the account cools down this long. */
export const DEFAULT_COOLDOWN_MS = 60_000;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const numberHeader = (headers: IncomingHttpHeaders, name: string): number | undefined => {
  const raw = header(headers, name);
  const value = raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
};

/** `retry-after` in seconds or as an HTTP date, as epoch milliseconds. */
export function retryAfter(headers: IncomingHttpHeaders, now: number): number | undefined {
  return retryAfterAt(header(headers, 'retry-after'), now);
}

const obj = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;

/** Anthropic's unified subscription limits: `anthropic-ratelimit-unified-{status,reset,5h-*,7d-*}`. */
function anthropic({ status, headers, now }: LimitAnswer): RateLimitSignal | undefined {
  const prefix = 'anthropic-ratelimit-unified';
  if (status !== 429 && header(headers, `${prefix}-status`) !== 'rejected') return undefined;
  const windows: [string, string][] = [
    ['5h', 'five_hour'],
    ['7d', 'seven_day'],
  ];
  for (const [short, name] of windows) {
    const reset = numberHeader(headers, `${prefix}-${short}-reset`);
    if (header(headers, `${prefix}-${short}-status`) === 'rejected' && reset !== undefined) {
      return { resetsAt: reset * 1000, window: name };
    }
  }
  const reset = numberHeader(headers, `${prefix}-reset`);
  const claim = header(headers, `${prefix}-representative-claim`);
  const resetsAt = reset !== undefined ? reset * 1000 : (retryAfter(headers, now) ?? now + DEFAULT_COOLDOWN_MS);
  return { resetsAt, ...(claim ? { window: claim } : {}) };
}

const CODEX_WINDOWS: Record<number, string> = { 300: 'five_hour', 10080: 'seven_day' };

/** Codex: `x-codex-{primary,secondary}-{used-percent,window-minutes,reset-after-seconds,reset-at}`. */
function codexWindow(headers: IncomingHttpHeaders, which: string, now: number): RateLimitSignal | undefined {
  const used = numberHeader(headers, `x-codex-${which}-used-percent`);
  if (used === undefined || used < 100) return undefined;
  const at = numberHeader(headers, `x-codex-${which}-reset-at`);
  const after = numberHeader(headers, `x-codex-${which}-reset-after-seconds`);
  const minutes = numberHeader(headers, `x-codex-${which}-window-minutes`);
  const resetsAt = at !== undefined ? at * 1000 : after !== undefined ? now + after * 1000 : undefined;
  if (resetsAt === undefined) return undefined;
  const window = minutes === undefined ? undefined : (CODEX_WINDOWS[minutes] ?? `${minutes}_minutes`);
  return { resetsAt, ...(window ? { window } : {}) };
}

function codex({ status, headers, body, now }: LimitAnswer): RateLimitSignal | undefined {
  if (status !== 429) return undefined;
  const fromHeaders = codexWindow(headers, 'primary', now) ?? codexWindow(headers, 'secondary', now);
  if (fromHeaders) return fromHeaders;
  const error = obj(obj(body)?.error);
  if (typeof error?.resets_at === 'number') return { resetsAt: error.resets_at * 1000 };
  if (typeof error?.resets_in_seconds === 'number') return { resetsAt: now + error.resets_in_seconds * 1000 };
  return { resetsAt: retryAfter(headers, now) ?? now + DEFAULT_COOLDOWN_MS };
}

/** Google's `RetryInfo.retryDelay` is a protobuf Duration as JSON: `"34s"`, `"1.5s"`. */
function retryDelay(body: unknown): number | undefined {
  const error = obj(obj(Array.isArray(body) ? body[0] : body)?.error);
  if (!error || (error.status !== 'RESOURCE_EXHAUSTED' && error.code !== 429)) return undefined;
  const details = Array.isArray(error.details) ? error.details : [];
  for (const detail of details) {
    const delay = obj(detail)?.retryDelay;
    const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (match) return Number(match[1]) * 1000;
  }
  return undefined;
}

function gemini({ status, headers, body, now }: LimitAnswer): RateLimitSignal | undefined {
  if (status !== 429) return undefined;
  const delay = retryDelay(body);
  return { resetsAt: delay !== undefined ? now + delay : (retryAfter(headers, now) ?? now + DEFAULT_COOLDOWN_MS) };
}

const READERS: Record<LimitDialect, (answer: LimitAnswer) => RateLimitSignal | undefined> = {
  anthropic,
  codex,
  gemini,
};

/**
 * The rate limit an upstream answer announces, read the way its provider writes it; undefined
 * when the answer is not a limit. A 429 always yields a signal: without any reset information the
 * account cools down for {@link DEFAULT_COOLDOWN_MS}.
 */
export function readRateLimit(dialect: LimitDialect, answer: LimitAnswer): RateLimitSignal | undefined {
  return READERS[dialect](answer);
}

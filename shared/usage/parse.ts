import * as z from 'zod/mini';
import { _catch } from 'zod/v4/core';
import type { AccountUsage, UsageCredits, UsageWindow } from '#shared/usage/types.ts';

/*
 * Lenient readers of the providers' usage answers. Every field is optional and a field of the wrong
 * type reads as absent ({@link readOr}), so an upstream change loses only what changed: unknown fields are
 * ignored, a missing window is unknown (left out, never 0 %), and nothing here throws.
 */

/**
 * What `schema` reads from a value, or `fallback` when it does not read: exactly zod's `catch`.
 * zod/mini's `z.catch` reaches `core.util` as a nested namespace, which makes esbuild keep all of
 * zod's util module (8 KB) in every bundle; core's `_catch` builds the same schema without it.
 */
export function readOr<T extends z.ZodMiniType>(schema: T, fallback: z.output<T>): z.ZodMiniCatch<T> {
  // core types _catch for objects only; the schema it builds is the one z.catch builds for any type.
  return _catch(z.ZodMiniCatch, schema as never, fallback as never) as unknown as z.ZodMiniCatch<T>;
}

/** `schema`, null or absent; anything else reads as null. */
const lenient = <T extends z.ZodMiniType>(schema: T) => readOr(z.nullish(schema), null);
const num = lenient(z.number());
const str = lenient(z.string());
const bool = lenient(z.boolean());
const record = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Percent clamped to 0–100 and rounded to one decimal. */
export function clampPercent(value: number): number {
  return Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;
}

/** An ISO string or unix seconds as ISO-8601 UTC; null when absent or unreadable. */
export function toIso(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(value);
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : null;
}

// ---- Claude: GET /api/oauth/usage ----

const claudeWindow = z.object({ utilization: num, resets_at: str });
const claudeExtra = z.object({ is_enabled: bool, monthly_limit: num, used_credits: num });
/** Claude's long-standing windows first; any other reported window (model-specific) follows by name. */
const CLAUDE_ORDER = ['five_hour', 'seven_day'];

/**
 * Claude answers one object per window (`five_hour`, `seven_day`, `seven_day_opus`, …) with
 * `utilization` (percent) and `resets_at`, a null for a window that does not apply, and
 * `extra_usage` for pay-as-you-go credits. Every key holding a `utilization` number is a window.
 */
export function parseClaudeUsage(body: Record<string, unknown>, readAt: string): AccountUsage {
  const windows: UsageWindow[] = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === 'extra_usage' || !record(value)) continue;
    const parsed = claudeWindow.parse(value);
    if (typeof parsed.utilization !== 'number') continue;
    windows.push({ name, usedPercent: clampPercent(parsed.utilization), resetsAt: toIso(parsed.resets_at) });
  }
  const rank = (name: string): number => {
    const at = CLAUDE_ORDER.indexOf(name);
    return at === -1 ? CLAUDE_ORDER.length : at;
  };
  windows.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let credits: UsageCredits | null = null;
  if (record(body.extra_usage)) {
    const extra = claudeExtra.parse(body.extra_usage);
    credits = {
      enabled: extra.is_enabled ?? null,
      unlimited: null,
      balance: null,
      used: extra.used_credits ?? null,
      monthlyLimit: extra.monthly_limit ?? null,
    };
  }
  return { plan: null, readAt, windows, credits };
}

// ---- Codex: GET /backend-api/wham/usage ----

const codexWindow = z.object({ used_percent: num, limit_window_seconds: num, reset_at: num, reset_after_seconds: num });
const codexLimit = z.object({
  primary_window: lenient(codexWindow),
  secondary_window: lenient(codexWindow),
});
const codexBody = z.object({
  plan_type: str,
  rate_limit: lenient(codexLimit),
  credits: lenient(
    z.object({ has_credits: bool, unlimited: bool, balance: lenient(z.union([z.string(), z.number()])) }),
  ),
  additional_rate_limits: lenient(z.array(z.unknown())),
});
const codexAdditional = z.object({
  limit_name: str,
  metered_feature: str,
  rate_limit: lenient(codexLimit),
});

/** A window named by its length: 5 h and 7 d by their usual names, any other as `window_<n>s`. */
export function windowNameForSeconds(seconds: number | null | undefined, fallback: string): string {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0) return fallback;
  if (seconds === 18_000) return 'five_hour';
  if (seconds === 604_800) return 'seven_day';
  return `window_${seconds}s`;
}

function codexWindows(limit: z.infer<typeof codexLimit> | null | undefined, prefix: string, readAtMs: number) {
  const out: UsageWindow[] = [];
  const slots = [
    ['primary', limit?.primary_window],
    ['secondary', limit?.secondary_window],
  ] as const;
  for (const [slot, window] of slots) {
    if (!window || typeof window.used_percent !== 'number') continue;
    const resetsAt =
      toIso(window.reset_at) ??
      (typeof window.reset_after_seconds === 'number' ? toIso(readAtMs / 1000 + window.reset_after_seconds) : null);
    const name = prefix + windowNameForSeconds(window.limit_window_seconds, slot);
    out.push({ name, usedPercent: clampPercent(window.used_percent), resetsAt });
  }
  return out;
}

/** A limit name made safe for a window name: lower-case letters, digits, `.`, `_` and `-`, at most 40. */
function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
}

/**
 * Codex answers `plan_type`, `rate_limit.primary_window` / `secondary_window` (`used_percent`,
 * `limit_window_seconds`, `reset_at` in unix seconds) and optionally `credits` and
 * `additional_rate_limits` (further limits, e.g. per model), whose windows are prefixed with the
 * limit's name.
 */
export function parseCodexUsage(body: Record<string, unknown>, readAt: string): AccountUsage {
  const parsed = codexBody.parse(body);
  const readAtMs = Date.parse(readAt);
  const windows = codexWindows(parsed.rate_limit, '', readAtMs);
  for (const entry of parsed.additional_rate_limits ?? []) {
    if (!record(entry)) continue;
    const extra = codexAdditional.parse(entry);
    const name = slug(extra.limit_name ?? extra.metered_feature ?? '');
    if (!name) continue;
    windows.push(...codexWindows(extra.rate_limit, `${name}_`, readAtMs));
  }
  const c = parsed.credits;
  const credits: UsageCredits | null = c
    ? {
        enabled: c.has_credits ?? null,
        unlimited: c.unlimited ?? null,
        balance: c.balance === null || c.balance === undefined ? null : String(c.balance),
        used: null,
        monthlyLimit: null,
      }
    : null;
  return { plan: parsed.plan_type ?? null, readAt, windows, credits };
}

// ---- Gemini: Code Assist loadCodeAssist + retrieveUserQuota ----

const loadAnswer = z.object({
  currentTier: lenient(z.object({ id: str })),
  cloudaicompanionProject: lenient(z.union([z.string(), z.object({ id: z.string() })])),
});

/** From `loadCodeAssist`: the account's Code Assist project (string, or `{id}`) and tier id. */
export function parseLoadCodeAssist(body: Record<string, unknown>): { project: string | null; tier: string | null } {
  const parsed = loadAnswer.parse(body);
  const p = parsed.cloudaicompanionProject;
  const project = typeof p === 'string' ? p : (p?.id ?? null);
  return { project: project || null, tier: parsed.currentTier?.id || null };
}

const quotaBucket = z.object({ modelId: str, tokenType: str, remainingFraction: num, resetTime: str });

/**
 * `retrieveUserQuota` answers `buckets` of daily per-model quotas. A bucket with `remainingFraction`
 * becomes a window `daily_<model>` (with the token type when it is not requests) used at
 * (1 − remainingFraction) × 100 %; a bucket with only `remainingAmount` has no percentage: unknown.
 */
export function parseGeminiQuota(body: Record<string, unknown>, plan: string | null, readAt: string): AccountUsage {
  const buckets = Array.isArray(body.buckets) ? body.buckets : [];
  const byName = new Map<string, UsageWindow>();
  for (const entry of buckets) {
    if (!record(entry)) continue;
    const bucket = quotaBucket.parse(entry);
    if (typeof bucket.remainingFraction !== 'number') continue;
    const model = slug(bucket.modelId ?? '') || 'all';
    const type = bucket.tokenType && bucket.tokenType.toUpperCase() !== 'REQUESTS' ? `_${slug(bucket.tokenType)}` : '';
    const name = `daily_${model}${type}`;
    const window = {
      name,
      usedPercent: clampPercent((1 - bucket.remainingFraction) * 100),
      resetsAt: toIso(bucket.resetTime),
    };
    const seen = byName.get(name);
    if (!seen || window.usedPercent > seen.usedPercent) byName.set(name, window);
  }
  const windows = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { plan, readAt, windows, credits: null };
}

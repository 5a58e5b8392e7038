import { USAGE_INTERVAL } from '#shared/config.ts';
import type { UsageResult } from '#shared/usage/types.ts';

/** Default for the per-account usage read interval: no more often than this. */
export const DEFAULT_USAGE_INTERVAL_MINUTES = USAGE_INTERVAL.fallback;

/** A usage endpoint that answers 429 is left alone this long at most, whatever `Retry-After` says. */
const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;

/**
 * Whether the sweeper may read an account's usage now. `nextReadAt` is what {@link nextUsageReadAt}
 * returned after the previous attempt (stored on the account item); never read means due.
 */
export function usageReadDue(nextReadAt: string | null | undefined, now: number): boolean {
  if (!nextReadAt) return true;
  const at = Date.parse(nextReadAt);
  return Number.isNaN(at) || at <= now;
}

/**
 * When the next read of this account may happen, after an attempt at `now` that gave `result`:
 * one interval later, success or failure alike (so a failing endpoint is not hammered every sweep),
 * or later still when the endpoint itself answered 429 with a longer `Retry-After` (capped at 6 h).
 */
export function nextUsageReadAt(result: UsageResult, now: number, intervalMinutes: number): string {
  // The configuration refuses anything else at start; a caller's odd value falls back to the default.
  const { min, max } = USAGE_INTERVAL;
  const minutes =
    Number.isInteger(intervalMinutes) && intervalMinutes >= min && intervalMinutes <= max
      ? intervalMinutes
      : DEFAULT_USAGE_INTERVAL_MINUTES;
  let wait = minutes * 60_000;
  if (!result.ok && result.kind === 'rate_limited' && result.retryAfterMs !== null) {
    wait = Math.max(wait, Math.min(result.retryAfterMs, MAX_BACKOFF_MS));
  }
  return new Date(now + wait).toISOString();
}

import type { AccountStatus } from '#shared/accounts/model.ts';
import { DEFAULT_SKIP_ABOVE_PERCENT, SKIP_ABOVE_PERCENT_RANGE } from '#shared/settings/provider.ts';
import type { UsageWindow } from '#shared/usage/types.ts';

/**
 * Quota-aware round robin.
 *
 * The pool (OAuth server accounts in the round robin, sorted by creation time, then id) is split
 * into *usable* and *skipped* accounts at the moment of the launch; then one atomic cursor step
 * (`UpdateItem ADD cursor :1` → n, taken only when something is usable) picks
 * `usable[(n − 1) mod |usable|]`.
 *
 * Why the spread stays within 1: launches get distinct, consecutive cursor values (the ADD is
 * atomic), and while the usable set U is unchanged those values map onto consecutive residues
 * mod |U|, i.e. onto U in strict rotation, whatever order the launches finish in. So over any run of
 * launches that all saw the same U, every usable account gets ⌊k/|U|⌋ or ⌈k/|U|⌉ of the k launches.
 * A skipped account takes no share; the rotation is over U, not the whole pool, so the account after
 * an exhausted one does not inherit its turns (walking forward from `n mod |pool|` would give it
 * twice its share).
 *
 * When U changes (an account crosses the threshold, a window resets, a cooldown ends, the sweeper
 * reads new usage) the residues are re-laid over the new U; the cursor is neither reset nor
 * rewound. Over the launches that saw one U, cursor values taken by launches that saw another U
 * (those racing the change) are gaps in an otherwise consecutive run, and each gap moves the counts
 * by at most 1: the spread over usable accounts is at most 1 + the number of launches that raced a
 * change, and is back within 1 for launches after it. Runs on either side of a change are each
 * within 1, so a span crossing k changes stays within k + 1 plus those racing launches.
 */

const { min, max } = SKIP_ABOVE_PERCENT_RANGE;

/** What selection needs to know about a pool account. */
export interface PoolMember {
  id: string;
  status: AccountStatus;
  cooldownUntil: string | null;
  usage: { windows: readonly UsageWindow[] } | null;
}

export type SkipReason = 'usage' | 'cooling_down' | 'needs_reconnect';

/** Why an account is out of the rotation, and until when. */
export interface PoolSkip {
  id: string;
  reasons: SkipReason[];
  /** The windows at or over the threshold whose reset is in the future or unknown. */
  windows: string[];
  /**
   * When every reason has lapsed (the latest of them); null when one of them has no known end
   * (a full window without `resetsAt` stays skipped until the next usage read replaces it).
   */
  until: string | null;
}

export interface PoolPlan<T extends PoolMember> {
  /** Usable accounts in pool order; the cursor indexes this list. */
  usable: T[];
  skipped: PoolSkip[];
  /** The soonest moment a skipped account becomes usable again; null when none is known. */
  earliestResetAt: string | null;
}

const time = (iso: string | null): number => (iso ? Date.parse(iso) : Number.NaN);

/** A threshold outside 1–100 (or not a number) falls back to the default rather than skip everything. */
function threshold(value: number | undefined): number {
  return typeof value === 'number' && value >= min && value <= max ? value : DEFAULT_SKIP_ABOVE_PERCENT;
}

/**
 * Whether `member` is out of the rotation at `now`: a window at or over `skipAbovePercent` that has
 * not reset yet (a `resetsAt` in the past means the reading is stale and the window has reset), a
 * cooldown that has not ended, or an account that needs reconnecting. Null when usable.
 */
export function skipOf(member: PoolMember, skipAbovePercent: number | undefined, now: number): PoolSkip | null {
  const limit = threshold(skipAbovePercent);
  const reasons: SkipReason[] = [];
  const windows: string[] = [];
  let until = Number.NEGATIVE_INFINITY;
  let unknownEnd = false;
  if (member.status === 'needs_reconnect') {
    reasons.push('needs_reconnect');
    unknownEnd = true;
  }
  const cooldown = time(member.cooldownUntil);
  if (member.status === 'cooling_down' && (Number.isNaN(cooldown) || cooldown > now)) {
    reasons.push('cooling_down');
    if (Number.isNaN(cooldown)) unknownEnd = true;
    else until = Math.max(until, cooldown);
  }
  for (const window of member.usage?.windows ?? []) {
    if (!(window.usedPercent >= limit)) continue;
    const resets = time(window.resetsAt);
    if (!Number.isNaN(resets) && resets <= now) continue;
    windows.push(window.name);
    if (Number.isNaN(resets)) unknownEnd = true;
    else until = Math.max(until, resets);
  }
  if (windows.length > 0) reasons.push('usage');
  if (reasons.length === 0) return null;
  return { id: member.id, reasons, windows, until: unknownEnd ? null : new Date(until).toISOString() };
}

/**
 * Splits the pool (already in creation order) into usable and skipped accounts at `now`, keeping
 * the order, and finds the earliest reset among the skipped ones.
 */
export function planPool<T extends PoolMember>(
  pool: readonly T[],
  options: { skipAbovePercent?: number | undefined; now: number },
): PoolPlan<T> {
  const usable: T[] = [];
  const skipped: PoolSkip[] = [];
  let earliest = Number.POSITIVE_INFINITY;
  for (const member of pool) {
    const skip = skipOf(member, options.skipAbovePercent, options.now);
    if (!skip) {
      usable.push(member);
      continue;
    }
    skipped.push(skip);
    if (skip.until) earliest = Math.min(earliest, Date.parse(skip.until));
  }
  const earliestResetAt = Number.isFinite(earliest) ? new Date(earliest).toISOString() : null;
  return { usable, skipped, earliestResetAt };
}

/**
 * The account for cursor value `cursor` (the result of one `ADD cursor :1`, so 1 on first use):
 * `usable[(cursor − 1) mod |usable|]`. Undefined when nothing is usable (take no cursor step then).
 */
export function pickAt<T>(usable: readonly T[], cursor: number): T | undefined {
  if (!Number.isSafeInteger(cursor)) throw new RangeError('pool cursor must be a safe integer');
  const n = usable.length;
  if (n === 0) return undefined;
  return usable[(((cursor - 1) % n) + n) % n];
}

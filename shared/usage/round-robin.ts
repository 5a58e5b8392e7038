import type { ProviderId } from '#shared/providers/types.ts';
import { type PoolMember, type PoolPlan, pickAt, planPool } from '#shared/usage/pool.ts';

export interface RoundRobinOutcome<T extends PoolMember> {
  /** The pick; null when no pool account is usable (then no cursor step was taken). */
  account: T | null;
  plan: PoolPlan<T>;
  /** The cursor value used; null when no step was taken. */
  cursor: number | null;
}

/**
 * The round-robin step of a launch: plan the pool at `now`, then, only if an account is usable,
 * take exactly one atomic cursor step (`step`, i.e. `nextCursor(provider)`) and pick by it.
 * `pool` is the provider's round-robin OAuth server accounts in creation order, unfiltered:
 * accounts needing reconnection, cooling down, or at/over `skipAbovePercent` are skipped here.
 */
export async function roundRobinPick<T extends PoolMember>(
  pool: readonly T[],
  options: { skipAbovePercent?: number | undefined; now: number; step: () => Promise<number> },
): Promise<RoundRobinOutcome<T>> {
  const plan = planPool(pool, options);
  if (plan.usable.length === 0) return { account: null, plan, cursor: null };
  const cursor = await options.step();
  return { account: pickAt(plan.usable, cursor) ?? null, plan, cursor };
}

/** Whether the pool had accounts but every one of them was skipped. */
export function poolExhausted(plan: PoolPlan<PoolMember>): boolean {
  return plan.usable.length === 0 && plan.skipped.length > 0;
}

function resetPhrase(plan: PoolPlan<PoolMember>): string {
  return plan.earliestResetAt
    ? `the earliest is usable again at ${plan.earliestResetAt}`
    : 'no reset time is known yet';
}

/** The launch warning when the whole pool is skipped and the active OAuth account is used instead. */
export function poolFallbackWarning(provider: ProviderId, plan: PoolPlan<PoolMember>): string {
  return `Every ${provider} round-robin account is at its usage limit or cooling down (${resetPhrase(plan)}); the active account was used instead.`;
}

/**
 * The `provider_not_configured` message: names the earliest reset when the pool exists but every
 * account in it is skipped, else the usual advice.
 */
export function noUsableAccountMessage(provider: ProviderId, plan: PoolPlan<PoolMember> | null): string {
  if (plan && poolExhausted(plan)) {
    return `No usable ${provider} account: every round-robin account is at its usage limit or cooling down; ${resetPhrase(plan)}.`;
  }
  return `No usable ${provider} account: connect one or mark one active.`;
}

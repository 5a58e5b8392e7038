import { type Account, isKeyAccount, isUsable } from '#shared/accounts/model.ts';
import { loadProviderState, type ProviderState } from '#shared/accounts/state.ts';
import { AccountUnusableError, NotFoundError, ProviderNotConfiguredError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { nextCursor } from '#shared/usage/cursor.ts';
import type { PoolMember, PoolPlan } from '#shared/usage/pool.ts';
import {
  noUsableAccountMessage,
  poolExhausted,
  poolFallbackWarning,
  roundRobinPick,
} from '#shared/usage/round-robin.ts';

export interface ResolveRequest {
  provider: ProviderId;
  /** The task's own choice. It must exist, be visible to the caller and be usable. */
  taskPreferredAccountId?: string | undefined;
  /** The caller's saved preference; a stale one (gone, unusable) falls through. */
  userPreferredAccountId?: string | undefined;
  /** The caller; their own active personal account is their preference when they saved none. */
  callerId?: string | undefined;
  /** Clock for usability checks (cooldowns); defaults to now. */
  now?: number;
  /** The provider's partition, when the caller has just read it (a launch reads it beside its other reads). */
  state?: ProviderState;
}

export type ResolutionStep =
  | 'task_preferred'
  | 'user_preferred'
  | 'personal_active'
  | 'active_api_key'
  | 'round_robin'
  | 'active_oauth';

export interface Resolution {
  account: Account;
  step: ResolutionStep;
  /** For the launch's warnings: e.g. the whole pool was at its usage limit and the active account was used. */
  warnings: string[];
}

/**
 * Chooses the account for a launch, in this order:
 *   1. preferred — the task's choice, else the caller's saved preference, else the caller's own
 *      active personal account;
 *   2. the provider's active API-key (or keyless) account;
 *   3. the next OAuth account of the round-robin pool (atomic cursor over the usable pool in
 *      creation order; an account with a usage window at or above the provider's
 *      `pool.skipAbovePercent` is skipped until the window resets, see `shared/usage/pool.ts`);
 *   4. the provider's active OAuth account (with a warning when the whole pool was skipped);
 * otherwise `provider_not_configured` (naming the earliest reset when the pool is exhausted).
 * Accounts that need reconnecting or are cooling down are skipped at every step; only a task's
 * explicit choice turns that into an error.
 */
export async function resolveAccount(request: ResolveRequest): Promise<Resolution> {
  const now = request.now ?? Date.now();
  const { provider, callerId } = request;
  const state = request.state ?? (await loadProviderState(provider));
  const visible = (a: Account): boolean => a.owner === null || (callerId !== undefined && a.owner === callerId);
  const byId = new Map(state.accounts.map((a) => [a.id, a]));
  const find = (id: string | null | undefined): Account | undefined => {
    const account = id ? byId.get(id) : undefined;
    return account && visible(account) ? account : undefined;
  };

  if (request.taskPreferredAccountId !== undefined) {
    const chosen = find(request.taskPreferredAccountId);
    if (!chosen) throw new NotFoundError(`No ${provider} account with id "${request.taskPreferredAccountId}".`);
    if (!isUsable(chosen, now)) {
      throw new AccountUnusableError(
        `The ${provider} account "${chosen.label}" cannot be used now (status: ${chosen.status}). Reconnect it or choose another.`,
      );
    }
    return { account: chosen, step: 'task_preferred', warnings: [] };
  }

  const saved = find(request.userPreferredAccountId);
  if (saved && isUsable(saved, now)) return { account: saved, step: 'user_preferred', warnings: [] };

  if (callerId !== undefined) {
    const own = find(state.personalActive.get(callerId));
    if (own && own.owner === callerId && isUsable(own, now)) {
      return { account: own, step: 'personal_active', warnings: [] };
    }
  }

  const active = state.settings.activeAccountId ? byId.get(state.settings.activeAccountId) : undefined;
  const activeServer = active && active.owner === null && isUsable(active, now) ? active : undefined;
  if (activeServer && isKeyAccount(activeServer)) {
    return { account: activeServer, step: 'active_api_key', warnings: [] };
  }

  const pool = state.accounts
    .filter((a) => a.owner === null && a.kind === 'oauth' && a.roundRobin)
    .map((a) => ({ id: a.id, status: a.status, cooldownUntil: a.cooldownUntil, usage: a.usage ?? null, account: a }));
  let plan: PoolPlan<PoolMember> | null = null;
  if (pool.length > 0) {
    const skipAbovePercent = state.settings.pool.skipAbovePercent;
    const picked = await roundRobinPick(pool, { skipAbovePercent, now, step: () => nextCursor(provider) });
    if (picked.account) return { account: picked.account.account, step: 'round_robin', warnings: [] };
    plan = picked.plan;
  }

  if (activeServer && activeServer.kind === 'oauth') {
    const warnings = plan && poolExhausted(plan) ? [poolFallbackWarning(provider, plan)] : [];
    return { account: activeServer, step: 'active_oauth', warnings };
  }

  throw new ProviderNotConfiguredError(noUsableAccountMessage(provider, plan));
}

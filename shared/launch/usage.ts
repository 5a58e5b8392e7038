import * as z from 'zod/mini';
import { addAccountUsage, updateAccount } from '#shared/accounts/store.ts';
import { audit } from '#shared/audit/audit.ts';
import { ConditionFailedError } from '#shared/errors.ts';
import { type LaunchUsage, storeLaunchUsage } from '#shared/launch/records.ts';
import type { TaskTokenGrant } from '#shared/launch/task-tokens.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import type { Condition } from '#shared/store/update.ts';

/** A reported limit keeps the account out of the pool at most this long, whatever the provider said. */
export const MAX_COOLDOWN_MS = 8 * 24 * 3600 * 1000;
/** A proxy's last report may arrive this long after its task stopped. */
export const FINAL_REPORT_GRACE_MS = 5 * 60 * 1000;

const count = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));

/** API.md `POST /v1/tasks/usage`: totals since the proxy started, and the latest limit it saw. */
export const usageBody = z.strictObject({
  requests: count,
  inputTokens: count,
  outputTokens: count,
  statusCounts: z
    .record(z.string().check(z.regex(/^[1-5]\d\d$/, 'keys are HTTP status codes')), count)
    .check(z.refine((counts) => Object.keys(counts).length <= 60, 'at most 60 status codes')),
  rateLimit: z.optional(
    z.strictObject({
      limited: z.literal(true),
      resetsAt: z.iso.datetime({ offset: true }),
      window: z.optional(z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be a window name such as five_hour'))),
    }),
  ),
});
export type UsageBody = z.infer<typeof usageBody>;

/** What a report changed: nothing (an older report), or the launch's totals and perhaps the account's pool state. */
export interface UsageOutcome {
  stored: boolean;
  /** When the account now cools down until, if this report put it (or kept it longer) there. */
  cooldownUntil: string | null;
}

/**
 * Puts the account in `cooling_down` until `until`, unless it must be signed in again or already
 * cools down at least as long (a later cooldown is never shortened). Answers whether it changed.
 */
async function coolDown(provider: ProviderId, accountId: string, until: string): Promise<boolean> {
  // ┌ needs_reconnect: left alone ┐  cooling_down until ≥ `until`: left alone; otherwise set.
  const notShorter: Condition = {
    expression:
      '#status <> :reconnect AND (#status <> :cooling OR attribute_not_exists(#until) OR attribute_type(#until, :null) OR #until < :until)',
    names: { '#status': 'status', '#until': 'cooldownUntil' },
    values: { ':reconnect': 'needs_reconnect', ':cooling': 'cooling_down', ':null': 'NULL', ':until': until },
  };
  try {
    await updateAccount({
      provider,
      accountId,
      changes: { status: 'cooling_down', cooldownUntil: until },
      conditions: [{ expression: 'attribute_exists(#pk)', names: { '#pk': 'pk' } }, notShorter],
    });
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

const minus = (a: number, b: number | undefined) => Math.max(0, a - (b ?? 0));

/**
 * Records a proxy's usage report for its launch: the launch's totals (a report with fewer requests
 * than the stored one is ignored entirely), the account's running totals and `lastUsedAt`, and a
 * reported rate limit whose reset is still ahead: the account cools down until then (at most
 * {@link MAX_COOLDOWN_MS}), audited, so the round robin skips it.
 */
export async function recordUsage(grant: TaskTokenGrant, report: UsageBody, now = Date.now()): Promise<UsageOutcome> {
  const usage: LaunchUsage = {
    requests: report.requests,
    inputTokens: report.inputTokens,
    outputTokens: report.outputTokens,
    statusCounts: report.statusCounts,
  };
  const previous = await storeLaunchUsage(grant.launchId, usage);
  if (previous === 'stale') return { stored: false, cooldownUntil: null };
  await addAccountUsage({
    provider: grant.provider,
    accountId: grant.accountId,
    delta: {
      requests: minus(usage.requests, previous?.requests),
      inputTokens: minus(usage.inputTokens, previous?.inputTokens),
      outputTokens: minus(usage.outputTokens, previous?.outputTokens),
    },
    now,
  });
  const resetsAt = report.rateLimit ? Date.parse(report.rateLimit.resetsAt) : Number.NaN;
  if (!(resetsAt > now)) return { stored: true, cooldownUntil: null };
  const until = new Date(Math.min(resetsAt, now + MAX_COOLDOWN_MS)).toISOString();
  if (!(await coolDown(grant.provider, grant.accountId, until))) return { stored: true, cooldownUntil: null };
  await audit({
    actor: 'container',
    action: 'account.updated',
    provider: grant.provider,
    accountId: grant.accountId,
    detail: {
      status: 'cooling_down',
      cooldownUntil: until,
      reason: 'rate_limited',
      launchId: grant.launchId,
      ...(report.rateLimit?.window ? { window: report.rateLimit.window } : {}),
    },
  });
  return { stored: true, cooldownUntil: until };
}

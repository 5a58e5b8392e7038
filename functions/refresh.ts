import type { ScheduledEvent } from 'aws-lambda';
import { z } from 'zod';
import { type SweepSummary, sweep } from '#shared/keepalive/sweeper.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { PROVIDER_IDS } from '#shared/providers/types.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

const refreshRequest = z.strictObject({
  action: z.literal('refresh'),
  provider: z.enum(PROVIDER_IDS),
  accountId: z.string().regex(/^acc_[a-f0-9]{20}$/),
  minValidityMs: z
    .number()
    .int()
    .min(0)
    .max(48 * 3_600_000),
});

/**
 * Keep-alive: a sweep when EventBridge Scheduler invokes it (every 5 minutes), or one account's
 * refresh when another Keyfleet function asks (`{ action: "refresh", … }`): only this function and
 * the accounts function may write secrets.
 */
export const handler = async (
  event: Partial<ScheduledEvent> | Record<string, unknown>,
  _context?: unknown,
): Promise<SweepSummary | { result: 'ok' | 'failed'; status: string }> => {
  if ((event as { action?: unknown }).action === 'refresh') {
    const request = refreshRequest.parse(event);
    const outcome = await refreshAccount(request.provider, request.accountId, { minValidityMs: request.minValidityMs });
    return { result: outcome.result, status: outcome.account.status };
  }
  return sweep();
};

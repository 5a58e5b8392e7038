import type { ScheduledEvent } from 'aws-lambda';
import { type SweepSummary, sweep } from '#shared/keepalive/sweeper.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { type RefreshAnswer, refreshRequestSchema } from '#shared/oauth/refresh-request.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/**
 * Keep-alive: a sweep when EventBridge Scheduler invokes it (every 5 minutes), or one account's
 * refresh when another Keyfleet function asks (`{ action: "refresh", … }`): only this function and
 * the accounts function may write secrets.
 */
export const handler = async (
  event: Partial<ScheduledEvent> | Record<string, unknown>,
  _context?: unknown,
): Promise<SweepSummary | RefreshAnswer> => {
  if ((event as { action?: unknown }).action === 'refresh') {
    const request = refreshRequestSchema.parse(event);
    const outcome = await refreshAccount({
      provider: request.provider,
      accountId: request.accountId,
      minValidityMs: request.minValidityMs,
      force: request.force === true,
    });
    return { result: outcome.result, status: outcome.account.status, refreshed: outcome.refreshed };
  }
  return sweep();
};

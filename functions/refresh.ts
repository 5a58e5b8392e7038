import type { ScheduledEvent } from 'aws-lambda';
import { type SweepSummary, sweep } from '#shared/keepalive/sweeper.ts';

/** Keep-alive sweeper, invoked by EventBridge Scheduler every 5 minutes; the event carries nothing it needs. */
export const handler = async (
  _event: Partial<ScheduledEvent> | Record<string, never>,
  _context?: unknown,
): Promise<SweepSummary> => sweep();

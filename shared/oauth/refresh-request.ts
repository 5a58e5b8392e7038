import * as z from 'zod/mini';
import { accountIdParam } from '#shared/http/schemas.ts';
import { PROVIDER_IDS } from '#shared/providers/types.ts';

/**
 * What the refresh function accepts when another Keyfleet function invokes it for one account
 * (rather than the schedule): the one schema both the caller and `functions/refresh.ts` use.
 */
export const refreshRequestSchema = z.strictObject({
  action: z.literal('refresh'),
  provider: z.enum(PROVIDER_IDS),
  accountId: accountIdParam,
  minValidityMs: z.number().check(z.int(), z.gte(0), z.lte(48 * 3_600_000)),
  /** Refresh even if the token is still valid (the provider refused it). */
  force: z.optional(z.boolean()),
});

export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

/** What the refresh function answers such a request: the outcome, and the account's status after it. */
export const refreshAnswerSchema = z.object({
  result: z.enum(['ok', 'failed']),
  status: z.string(),
  /** This call refreshed (as opposed to finding fresh tokens or waiting for another writer). */
  refreshed: z.optional(z.boolean()),
});

export type RefreshAnswer = z.infer<typeof refreshAnswerSchema>;

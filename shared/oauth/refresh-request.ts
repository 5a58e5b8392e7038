import * as z from 'zod';
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
  minValidityMs: z
    .number()
    .int()
    .min(0)
    .max(48 * 3_600_000),
  /** Refresh even if the token is still valid (the provider refused it). */
  force: z.boolean().optional(),
});

export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

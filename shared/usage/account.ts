import * as z from 'zod/mini';
import type { Account } from '#shared/accounts/model.ts';
import { getProvider, listProviders } from '#shared/providers/index.ts';
import { usageEndpointsOf } from '#shared/usage/endpoints.ts';
import { readOr } from '#shared/usage/parse.ts';
import { readUsage, type UsageReadOptions } from '#shared/usage/read.ts';
import { nextUsageReadAt } from '#shared/usage/schedule.ts';
import type { AccountUsage, UsageFailure, UsageResult } from '#shared/usage/types.ts';
import type { UsageView } from '#shared/usage/view.ts';
import { fromSecretValue } from '#shared/vault/tokens.ts';
import { readSecret } from '#shared/vault/vault.ts';

let cached: ReturnType<typeof usageEndpointsOf> | undefined;

/** The usage endpoints of this process's provider definitions (overrides applied), read once. */
export function effectiveUsageEndpoints(): ReturnType<typeof usageEndpointsOf> {
  cached ??= usageEndpointsOf(listProviders());
  return cached;
}

function unavailable(detail: string): UsageFailure {
  return { ok: false, kind: 'credential_unavailable', detail, status: null, retryAfterMs: null };
}

type UsageAccount = Pick<Account, 'provider' | 'kind' | 'secretName'>;

/**
 * Reads one account's allowance with the access token in its vault secret. Never throws. An
 * account that is not OAuth, whose secret cannot be read, or whose token has expired (the refresh
 * comes first) is `credential_unavailable` and nothing is sent.
 */
export async function readAccountUsage(account: UsageAccount, options: UsageReadOptions = {}): Promise<UsageResult> {
  const now = (options.now ?? Date.now)();
  if (account.kind !== 'oauth' || !account.secretName) return unavailable('the account has no OAuth credential');
  try {
    const endpoints = options.endpoints ?? effectiveUsageEndpoints();
    if (!endpoints[account.provider])
      return await readUsage({ provider: account.provider, accessToken: '' }, { endpoints });
    const tokens = fromSecretValue((await readSecret(account.secretName)).value);
    if (!tokens.access_token) return unavailable('the stored credential has no access token');
    if (tokens.expires_at !== null && tokens.expires_at <= now) return unavailable('the access token has expired');
    const userAgent = options.userAgent ?? getProvider(account.provider).oauth.userAgent;
    return await readUsage(
      { provider: account.provider, accessToken: tokens.access_token, chatgptAccountId: tokens.account_id },
      { ...options, endpoints, userAgent },
    );
  } catch {
    return unavailable('the stored credential could not be read');
  }
}

/** What the account item keeps about usage (attribute names as stored). */
export interface UsageAttributes {
  /** Present only when it changes: a failed read keeps the last good reading. */
  usage?: AccountUsage | null;
  /** When the sweeper may read again ({@link nextUsageReadAt}). */
  usageNextReadAt: string;
  /** The last read's fixed failure phrase; null after a good read. */
  usageError: string | null;
}

/**
 * The account item update after a read: a good read replaces `usage`; `unsupported` clears it
 * (the allowance is unknown); any other failure keeps the last reading, so a usage endpoint that
 * fails or changes shape changes nothing but `usageError` and the next read time.
 */
export function usageAttributes(result: UsageResult, now: number, intervalMinutes: number): UsageAttributes {
  const usageNextReadAt = nextUsageReadAt(result, now, intervalMinutes);
  if (result.ok) return { usage: result.usage, usageNextReadAt, usageError: null };
  if (result.kind === 'unsupported') return { usage: null, usageNextReadAt, usageError: null };
  return { usageNextReadAt, usageError: result.detail };
}

/** `schema` or null; anything else reads as null too. */
const orNull = <T extends z.ZodMiniType>(schema: T) => readOr(z.nullable(schema), null);

const storedWindow = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  usedPercent: z.number().check(z.gte(0), z.lte(100)),
  resetsAt: orNull(z.string()),
});
const storedCredits = z.object({
  enabled: orNull(z.boolean()),
  unlimited: orNull(z.boolean()),
  balance: orNull(z.string()),
  used: orNull(z.number()),
  monthlyLimit: orNull(z.number()),
});
const storedUsageSchema = z.object({
  plan: orNull(z.string()),
  readAt: z.string(),
  windows: readOr(z.array(z.unknown()), []),
  credits: orNull(storedCredits),
});

/**
 * The `usage` attribute of an account item as the API shows it, or null. Lenient: a window that
 * does not read is dropped, and an item written before usage existed (or damaged) reads as null.
 */
export function storedUsage(value: unknown): AccountUsage | null {
  const parsed = storedUsageSchema.safeParse(value);
  if (!parsed.success) return null;
  const windows = parsed.data.windows.flatMap((w) => {
    const window = storedWindow.safeParse(w);
    return window.success ? [window.data] : [];
  });
  return { ...parsed.data, windows };
}

export type { UsageView };

/** The API's view of a stored `usage` attribute ({@link storedUsage}, without `credits`), or null. */
export function usageView(value: unknown): UsageView | null {
  const usage = storedUsage(value);
  return usage ? { plan: usage.plan, readAt: usage.readAt, windows: usage.windows } : null;
}

import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { audit, auditEntry } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError, NotFoundError } from '#shared/errors.ts';
import { ACCOUNT_ID } from '#shared/http/schemas.ts';
import type { Caller } from '#shared/http/types.ts';
import { freshen } from '#shared/launch/freshen.ts';
import { grantTokenItem, newGrantToken, revokeGrantToken } from '#shared/launch/grant-tokens.ts';
import { hashOf, ttlOf } from '#shared/launch/hash.ts';
import { getPreferences } from '#shared/launch/preferences.ts';
import { getProvider } from '#shared/providers/index.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';
import { putAll } from '#shared/store/batch.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { queryPartition } from '#shared/store/query.ts';
import { markRevoked } from '#shared/store/revoke.ts';

/**
 * Personal grants: what `keyfleet sync` puts on a workstation in place of a pooled refresh token.
 * A grant is bound to the caller and to one account (chosen like a launch for that caller), is
 * valid for a few hours or days, can be revoked, and works wherever a task token works (Codex's
 * refresh route, the access-token route). Its value is stored only as its SHA-256.
 *
 *   pk                      sk
 *   USER#<caller>           GRANT#<id>  the grant in its owner's list (this module)
 *   GRANTTOKEN#<sha256>     TOKEN       the same grant by the hash of its value (grant-tokens.ts)
 *
 * Issuing writes both items in one batch, and revoking marks both, on purpose.
 */
const listKey = (callerId: string, id: string) => ({ pk: `USER#${callerId}`, sk: `GRANT#${id}` });

/** Grants last a day unless asked otherwise; at most 30 days. */
export const DEFAULT_GRANT_HOURS = 24;
export const MAX_GRANT_HOURS = 30 * 24;
/** An OAuth access token handed to a workstation is good for at least this long, or refreshed first. */
const GRANT_MIN_VALIDITY_MS = 10 * 60 * 1000;

export const grantBody = z.strictObject({
  provider: z.enum(PROVIDER_IDS),
  preferredAccountId: z.optional(z.string().check(z.regex(ACCOUNT_ID, 'must be an account id'))),
  hours: z._default(z.int().check(z.minimum(1), z.maximum(MAX_GRANT_HOURS)), DEFAULT_GRANT_HOURS),
});
export type GrantBody = z.infer<typeof grantBody>;

export interface GrantRecord {
  id: string;
  callerId: string;
  provider: ProviderId;
  accountId: string;
  accountLabel: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** API.md's Grant: never the value, which only the issuing answer carries. */
export interface GrantView {
  id: string;
  provider: ProviderId;
  accountId: string;
  accountLabel: string;
  createdAt: string;
  expiresAt: string;
  status: 'active' | 'revoked' | 'expired';
}

const table = (): string => config().tableName;

/** The grant as the API shows it; `status` follows `revokedAt` and `expiresAt` at `now`. */
export function grantView(record: GrantRecord, now = Date.now()): GrantView {
  const status = record.revokedAt ? 'revoked' : Date.parse(record.expiresAt) <= now ? 'expired' : 'active';
  return {
    id: record.id,
    provider: record.provider,
    accountId: record.accountId,
    accountLabel: record.accountLabel,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    status,
  };
}

/**
 * Issues a grant for the caller: chooses the account with a launch's resolution order (the
 * request's preferred account, the caller's saved preference or own active account, the active
 * API-key account, the round-robin pool, the active OAuth account), makes sure an OAuth account's
 * access token is fresh, stores the grant's hash, and audits `grant.issued`. The value is answered
 * once, here.
 */
export async function issueGrant(caller: Caller, body: GrantBody): Promise<{ grant: GrantView; token: string }> {
  const provider = getProvider(body.provider);
  const [preferences, state] = await Promise.all([getPreferences(caller.id), loadProviderState(provider.id)]);
  const { account: chosen, step } = await resolveAccount({
    provider: provider.id,
    taskPreferredAccountId: body.preferredAccountId,
    userPreferredAccountId: preferences.providers[provider.id]?.preferredAccountId,
    callerId: caller.id,
    state,
  });
  const account = chosen.kind === 'oauth' ? await freshen(chosen, GRANT_MIN_VALIDITY_MS) : chosen;
  if (account.status === 'needs_reconnect') {
    throw new AccountUnusableError(`The ${provider.name} account "${account.label}" needs to be signed in again.`);
  }
  const now = Date.now();
  const token = newGrantToken();
  const record: GrantRecord = {
    id: `grt_${randomBytes(10).toString('hex')}`,
    callerId: caller.id,
    provider: provider.id,
    accountId: account.id,
    accountLabel: account.label,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + body.hours * 3_600_000).toISOString(),
  };
  const ttl = ttlOf(record.expiresAt);
  // New items only (the grant id and the token are random): one batch, no condition needed.
  const event = auditEntry({
    actor: caller.id,
    action: 'grant.issued',
    provider: provider.id,
    accountId: account.id,
    detail: { grantId: record.id, step, expiresAt: record.expiresAt },
  });
  await putAll([
    grantTokenItem(token, record, ttl),
    { ...listKey(caller.id, record.id), type: 'grant', ...record, tokenHash: hashOf(token), ttl },
    event.item,
  ]);
  event.logged();
  return { grant: grantView(record, now), token };
}

/** The caller's grants, newest first (revoked and expired ones too, until the table forgets them). */
export async function listGrants(callerId: string, now = Date.now()): Promise<GrantView[]> {
  const items = await queryPartition(`USER#${callerId}`, 'GRANT#');
  return (items as unknown as GrantRecord[])
    .map((item) => grantView(item, now))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * Revokes one of the caller's grants: the value stops working at once (its token item is marked
 * first), then the list entry; audited as `grant.revoked`. Another caller's grant, or one that does
 * not exist, is `not_found`. Revoking a revoked grant changes nothing and records nothing.
 */
export async function revokeGrant(caller: Caller, id: string, now = Date.now()): Promise<GrantView> {
  const key = listKey(caller.id, id);
  const out = /^grt_[a-f0-9]{20}$/.test(id)
    ? await dynamo(() => documentClient().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true })))
    : undefined;
  const item = out?.Item as (GrantRecord & { tokenHash: string }) | undefined;
  if (!item) throw new NotFoundError('No such grant.');
  if (item.revokedAt) return grantView(item, now);
  const revokedAt = new Date(now).toISOString();
  await revokeGrantToken(item.tokenHash, revokedAt);
  await markRevoked(key, revokedAt);
  await audit({
    actor: caller.id,
    action: 'grant.revoked',
    provider: item.provider,
    accountId: item.accountId,
    detail: { grantId: id },
  });
  return grantView({ ...item, revokedAt }, now);
}

import type { ProviderId } from '#shared/providers/types.ts';

/**
 * Key builders for the single table. One partition per provider holds its accounts, settings,
 * round-robin cursor and members' personal active-account pointers, so a provider view is one Query.
 *
 *   pk                      sk
 *   PROVIDER#<provider>     ACCOUNT#<accountId>     account metadata (no secrets)
 *   PROVIDER#<provider>     SETTINGS                active account, model, keep-alive
 *   PROVIDER#<provider>     CURSOR                  round-robin counter (ADD)
 *   PROVIDER#<provider>     ACTIVE#<ownerId>        a member's own active account
 *   SERVER                  SETTINGS                server-wide settings (default agent)
 */
export interface Key {
  pk: string;
  sk: string;
}

export const providerPartition = (provider: ProviderId): string => `PROVIDER#${provider}`;
export const ACCOUNT_PREFIX = 'ACCOUNT#';

export const accountKey = (provider: ProviderId, accountId: string): Key => ({
  pk: providerPartition(provider),
  sk: `${ACCOUNT_PREFIX}${accountId}`,
});
export const providerSettingsKey = (provider: ProviderId): Key => ({ pk: providerPartition(provider), sk: 'SETTINGS' });
export const cursorKey = (provider: ProviderId): Key => ({ pk: providerPartition(provider), sk: 'CURSOR' });
export const ACTIVE_PREFIX = 'ACTIVE#';
export const personalActiveKey = (provider: ProviderId, ownerId: string): Key => ({
  pk: providerPartition(provider),
  sk: `${ACTIVE_PREFIX}${ownerId}`,
});
export const serverSettingsKey = (): Key => ({ pk: 'SERVER', sk: 'SETTINGS' });

/**
 *   SIGNIN#<id>             SIGNIN                  a sign-in in progress (TTL 15 min)
 *   AUDIT#<0..3>            <iso time>#<id>         audit events, newest last in each shard
 *   FINANCE                 <provider>              a provider's finance record
 */
export const signInKey = (id: string): Key => ({ pk: `SIGNIN#${id}`, sk: 'SIGNIN' });

/**
 * Audit events are spread over this many partitions. Sort keys are time-ordered, so every write
 * lands at the end of its partition and DynamoDB cannot split it for heat: one partition takes
 * about 1,000 writes a second, 330 launches at three events each. Four take 1,300, far above
 * Fargate's 20 RunTask calls a second. The UTC day stays in the sort key, not the partition: a
 * day partition adds no write capacity (a day's writes all land in it) and would make the newest-
 * first listing walk quiet days one read at a time.
 */
export const AUDIT_SHARDS = 4;
/** Where every audit event went before sharding; still read until its events expire (400 days). */
export const LEGACY_AUDIT_PARTITION = 'AUDIT';
export const auditPartition = (shard: number): string => `AUDIT#${shard}`;

/**
 * The key of the audit event with `sortKey` (`<iso time>#<random id>`). Its shard is a hash of the
 * sort key unless given, so the random id spreads events evenly and a key is the same every time.
 */
export const auditKey = (sortKey: string, shard: number = auditShardOf(sortKey)): Key => ({
  pk: auditPartition(shard),
  sk: sortKey,
});

/** FNV-1a of `sortKey`, modulo {@link AUDIT_SHARDS}. */
export function auditShardOf(sortKey: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sortKey.length; i++) hash = Math.imul(hash ^ sortKey.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % AUDIT_SHARDS;
}
export const FINANCE_PARTITION = 'FINANCE';
export const financeKey = (provider: ProviderId): Key => ({ pk: FINANCE_PARTITION, sk: provider });

/**
 *   LAUNCH#<id>             LAUNCH                  a launch: account, task ARN, expiry
 *   TICKET#<sha256>         TICKET                  a single-use ticket, by the hash of its value
 *   TASKTOKEN#<sha256>      TOKEN                   a task token, by the hash of its value
 *   USER#<caller>           PREFERENCES             a member's launch preferences
 * Kept beside the code that owns them: ENVIRONMENTS/<name> (shared/launch/environments.ts),
 * LAUNCHES[#<caller>]/<createdAt>#<id> (shared/launch/listing.ts), GRANTTOKEN#<sha256>
 * (shared/launch/grant-tokens.ts), USER#<caller>/GRANT#<id> (shared/launch/grants.ts),
 * REFRESHSLOT#<provider>#<id> (shared/launch/refresh-slot.ts).
 */
export const launchKey = (id: string): Key => ({ pk: `LAUNCH#${id}`, sk: 'LAUNCH' });
export const ticketKey = (hash: string): Key => ({ pk: `TICKET#${hash}`, sk: 'TICKET' });
export const taskTokenKey = (hash: string): Key => ({ pk: `TASKTOKEN#${hash}`, sk: 'TOKEN' });
export const preferencesKey = (callerId: string): Key => ({ pk: `USER#${callerId}`, sk: 'PREFERENCES' });

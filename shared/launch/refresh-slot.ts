import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient } from '#shared/store/dynamo.ts';

/** Container routes start at most one refresh per account in this interval. */
export const CONTAINER_REFRESH_INTERVAL_MS = 30_000;

/**
 * One item per account, `REFRESHSLOT#<provider>#<accountId>` / `SLOT`, holding when a container
 * route last started a refresh of it (epoch ms). Tasks whose CLI keeps asking — Codex retries its
 * refresh and recovers from every refused call with another — share the account, so the limit
 * has to live in the table, not in one function instance.
 */
const slotKey = (provider: ProviderId, accountId: string) => ({
  pk: `REFRESHSLOT#${provider}#${accountId}`,
  sk: 'SLOT',
});

/**
 * Claims the right to refresh the account now: true unless a container route claimed it within
 * the last `intervalMs` (one conditional write, so concurrent callers get one `true`).
 */
export async function claimRefreshSlot(
  provider: ProviderId,
  accountId: string,
  now = Date.now(),
  intervalMs = CONTAINER_REFRESH_INTERVAL_MS,
): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: slotKey(provider, accountId),
        UpdateExpression: 'SET #at = :now, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#at) OR #at <= :cutoff',
        ExpressionAttributeNames: { '#at': 'claimedAt', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':now': now,
          ':cutoff': now - intervalMs,
          ':ttl': Math.ceil(now / 1000) + 86_400,
        },
      }),
    ),
  );
}

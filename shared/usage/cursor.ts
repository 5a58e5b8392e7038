import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { cursorKey } from '#shared/store/keys.ts';

/**
 * The round-robin cursor item (`PROVIDER#<provider>` / `CURSOR`): one atomic counter per provider,
 * the `step` that `roundRobinPick` (`shared/usage/round-robin.ts`) takes once per pool launch.
 * Not a page cursor (those are `shared/store/cursor.ts`).
 */

/**
 * Advances the provider's round-robin cursor atomically (`ADD cursor :1`) and returns the new
 * value (1 on first use). One item absorbs roughly 1,000 launches a second per provider.
 */
export async function nextCursor(provider: ProviderId): Promise<number> {
  const out = await dynamo(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: cursorKey(provider),
        UpdateExpression: 'ADD #cursor :one',
        ExpressionAttributeNames: { '#cursor': 'cursor' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    ),
  );
  return Number(out.Attributes?.cursor);
}

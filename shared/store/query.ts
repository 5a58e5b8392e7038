import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';

/**
 * Every item of the partition `pk` (only those whose sort key starts with `skPrefix`, when given),
 * all pages, read consistently: the one way the stores read a whole partition.
 */
export async function queryPartition(pk: string, skPrefix?: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo(() =>
      documentClient().send(
        new QueryCommand({
          TableName: config().tableName,
          KeyConditionExpression: skPrefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: skPrefix === undefined ? { '#pk': 'pk' } : { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': pk, ...(skPrefix === undefined ? {} : { ':prefix': skPrefix }) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

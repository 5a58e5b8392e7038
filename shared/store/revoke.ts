import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { conditional, documentClient } from '#shared/store/dynamo.ts';
import type { Key } from '#shared/store/keys.ts';

/**
 * Marks a token-like item (a task token, a grant's value, a grant's list entry) revoked at `at`,
 * keeping an earlier revocation time; false when there is no such item.
 */
export function markRevoked(key: Key, at: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: key,
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    ),
  );
}

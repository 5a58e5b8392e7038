import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single table's shape, shared by the CDK stack and the local endpoints so both create the
 * same thing: string `pk`/`sk`, TTL on `ttl` (epoch seconds), no secondary indexes.
 */
export const TABLE_DEFINITION = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
} as const;

/** CreateTable input for a local endpoint (on-demand, like the deployed table). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_DEFINITION.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_DEFINITION.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_DEFINITION.sortKey, KeyType: 'RANGE' },
    ],
  };
}

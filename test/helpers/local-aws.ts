import { randomBytes } from 'node:crypto';
import { type AttributeValue, BatchWriteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable, startDynamo } from '#infra/local/dynamo.ts';
import { type RunningSecretsServer, startSecretsServer } from '#infra/local/secrets-server.ts';
import { resetBeforeEachTest } from '#test/helpers/isolation.ts';

export interface LocalAws {
  dynamoEndpoint: string;
  secrets: RunningSecretsServer;
  tableName: string;
  stop: () => Promise<void>;
}

/** Deletes every item in the table, so the next test starts from what it sets up itself. */
async function emptyTable(client: DynamoDBClient, tableName: string): Promise<void> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ProjectionExpression: 'pk, sk', ExclusiveStartKey: start }),
    );
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      const batch = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      let unprocessed: Record<string, (typeof batch)[number][]> | undefined = { [tableName]: batch };
      while (unprocessed && Object.keys(unprocessed).length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: unprocessed }));
        unprocessed = out.UnprocessedItems as typeof unprocessed;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

/**
 * Starts an embedded DynamoDB and a Secrets Manager endpoint on random loopback ports and points
 * the standard SDK variables at them, exactly as local mode does. Call once per test file, before
 * the code under test creates its clients. The table is emptied before every test (see
 * test/helpers/isolation.ts): a test sets up the accounts and settings it needs, in the test or a
 * `beforeEach`, never in a `beforeAll`. Secrets stay: their names carry unique account ids.
 */
export async function startLocalAws(extraEnv: Record<string, string> = {}): Promise<LocalAws> {
  const dynamo = await startDynamo();
  const secrets = await startSecretsServer();
  const tableName = `keyfleet-test-${randomBytes(4).toString('hex')}`;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    KEYFLEET_TABLE_NAME: tableName,
    KEYFLEET_STAGE: 'test',
    ...extraEnv,
  });
  await ensureTable(tableName);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const unregister = resetBeforeEachTest(() => emptyTable(client, tableName));
  return {
    dynamoEndpoint: dynamo.endpoint,
    secrets,
    tableName,
    stop: async () => {
      unregister();
      client.destroy();
      await secrets.close();
      await dynamo.close();
    },
  };
}

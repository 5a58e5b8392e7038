import { randomBytes } from 'node:crypto';
import { ensureTable, startDynamo } from '#infra/local/dynamo.ts';
import { type RunningSecretsServer, startSecretsServer } from '#infra/local/secrets-server.ts';

export interface LocalAws {
  dynamoEndpoint: string;
  secrets: RunningSecretsServer;
  tableName: string;
  stop: () => Promise<void>;
}

/**
 * Starts an embedded DynamoDB and a Secrets Manager endpoint on random loopback ports and points
 * the standard SDK variables at them, exactly as local mode does. Call once per test file, before
 * the code under test creates its clients.
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
  return {
    dynamoEndpoint: dynamo.endpoint,
    secrets,
    tableName,
    stop: async () => {
      await secrets.close();
      await dynamo.close();
    },
  };
}

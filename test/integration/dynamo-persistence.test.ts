import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { startDynamo, untilActive } from '#infra/local/dynamo.ts';
import { createTableInput } from '#infra/table-definition.ts';

const client = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

describe('embedded DynamoDB', () => {
  it('keeps the table and its items across restarts when given a path', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'kf-ddb-')), 'dynamodb');
    const first = await startDynamo({ path });
    await client(first.endpoint).send(new CreateTableCommand(createTableInput('keyfleet-persist')));
    await untilActive(client(first.endpoint), 'keyfleet-persist');
    await client(first.endpoint).send(
      new PutItemCommand({
        TableName: 'keyfleet-persist',
        Item: { pk: { S: 'PROVIDER#claude' }, sk: { S: 'SETTINGS' }, model: { S: 'm' } },
      }),
    );
    await first.close();

    const second = await startDynamo({ path });
    const item = await client(second.endpoint).send(
      new GetItemCommand({
        TableName: 'keyfleet-persist',
        Key: { pk: { S: 'PROVIDER#claude' }, sk: { S: 'SETTINGS' } },
      }),
    );
    expect(item.Item?.model).toEqual({ S: 'm' });
    await second.close();
  });
});

import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDynamo, startDynamo, untilActive } from '#infra/local/dynamo.ts';
import { createTableInput } from '#infra/table-definition.ts';
import { buildUpdate, itemExists } from '#shared/store/update.ts';

describe('buildUpdate', () => {
  it('aliases every attribute and value, in the order given', () => {
    expect(buildUpdate({ label: 'Work', status: 'connected', ttl: 1_795_000_000 })).toEqual({
      UpdateExpression: 'SET #u0 = :u0, #u1 = :u1, #u2 = :u2',
      ExpressionAttributeNames: { '#u0': 'label', '#u1': 'status', '#u2': 'ttl' },
      ExpressionAttributeValues: { ':u0': 'Work', ':u1': 'connected', ':u2': 1_795_000_000 },
    });
  });

  it('skips undefined values and stores null as a value', () => {
    expect(buildUpdate({ lastError: null, label: undefined, cursor: 0 })).toEqual({
      UpdateExpression: 'SET #u0 = :u0, #u1 = :u1',
      ExpressionAttributeNames: { '#u0': 'lastError', '#u1': 'cursor' },
      ExpressionAttributeValues: { ':u0': null, ':u1': 0 },
    });
  });

  it('removes attributes after the assignments, numbering on from them', () => {
    expect(buildUpdate({ status: 'connected' }, { remove: ['cooldownUntil', 'lastError'] })).toEqual({
      UpdateExpression: 'SET #u0 = :u0 REMOVE #r1, #r2',
      ExpressionAttributeNames: { '#u0': 'status', '#r1': 'cooldownUntil', '#r2': 'lastError' },
      ExpressionAttributeValues: { ':u0': 'connected' },
    });
  });

  it('builds a removal alone without ExpressionAttributeValues', () => {
    expect(buildUpdate({}, { remove: ['ttl'] })).toEqual({
      UpdateExpression: 'REMOVE #r0',
      ExpressionAttributeNames: { '#r0': 'ttl' },
    });
  });

  it('joins conditions with AND, each in parentheses, and merges their names and values', () => {
    expect(
      buildUpdate(
        { holder: 'me' },
        {
          conditions: [
            itemExists,
            {
              expression: '#h = :none OR #until < :now',
              names: { '#h': 'holder', '#until': 'until' },
              values: { ':none': null, ':now': 5 },
            },
          ],
        },
      ),
    ).toEqual({
      UpdateExpression: 'SET #u0 = :u0',
      ExpressionAttributeNames: { '#u0': 'holder', '#pk': 'pk', '#h': 'holder', '#until': 'until' },
      ExpressionAttributeValues: { ':u0': 'me', ':none': null, ':now': 5 },
      ConditionExpression: '(attribute_exists(#pk)) AND (#h = :none OR #until < :now)',
    });
  });

  it.each([
    ['an empty patch', {}, {}],
    ['a patch of undefined values only', { label: undefined }, {}],
    ['an empty removal list with a condition', {}, { remove: [], conditions: [itemExists] }],
  ])('refuses %s', (_name, set, options) => {
    expect(() => buildUpdate(set, options)).toThrow(new Error('buildUpdate: nothing to update'));
  });
});

describe('buildUpdate against the embedded DynamoDB endpoint', () => {
  let dynamo: RunningDynamo;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  const TableName = 'keyfleet-update-test';
  const Key = { pk: 'ACCOUNT#claude', sk: 'acc_00000000000000000001' };

  beforeAll(async () => {
    dynamo = await startDynamo();
    raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    doc = DynamoDBDocumentClient.from(raw);
    await raw.send(new CreateTableCommand(createTableInput(TableName)));
    await untilActive(raw, TableName);
  });
  afterAll(async () => {
    raw.destroy();
    await dynamo.close();
  });

  it('sets reserved-word attributes, stores null and removes, exactly as built', async () => {
    await doc.send(new PutCommand({ TableName, Item: { ...Key, status: 'error', lastError: 'x', ttl: 1 } }));
    const update = buildUpdate(
      { status: 'connected', cursor: 3, lastError: null },
      { remove: ['ttl'], conditions: [itemExists] },
    );
    await doc.send(new UpdateCommand({ TableName, Key, ...update }));
    const { Item } = await doc.send(new GetCommand({ TableName, Key }));
    expect(Item).toEqual({ ...Key, status: 'connected', cursor: 3, lastError: null });
  });

  it('leaves a missing item missing when the condition requires it to exist', async () => {
    const missing = { pk: 'ACCOUNT#claude', sk: 'acc_00000000000000000002' };
    const update = buildUpdate({ status: 'connected' }, { conditions: [itemExists] });
    await expect(doc.send(new UpdateCommand({ TableName, Key: missing, ...update }))).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect((await doc.send(new GetCommand({ TableName, Key: missing }))).Item).toBeUndefined();
  });
});

import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient } from '#shared/store/dynamo.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

/**
 * The setup file's isolation (test/helpers/isolation.ts): whichever of these runs first, each
 * finds the table empty and the real clock, though each leaves an account and the other fake timers.
 */

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

const tableKeys = async () =>
  ((await documentClient().send(new ScanCommand({ TableName: aws.tableName, ConsistentRead: true }))).Items ?? []).map(
    (item) => `${item.pk} ${item.sk}`,
  );

describe.each(['first', 'second'])('the %s of two tests that each store an account', (name) => {
  it('regression: finds no account an earlier test stored, and the real clock', async () => {
    expect(await tableKeys()).toEqual([]);
    expect(vi.isFakeTimers()).toBe(false);
    const account = await seedAccount('claude', { label: name });
    expect(await tableKeys()).toEqual([`PROVIDER#claude ACCOUNT#${account.id}`]);
    vi.useFakeTimers({ toFake: ['Date'], now: 0 });
  });
});

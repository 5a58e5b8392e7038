import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAccount, storeUsage } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { NotFoundError } from '#shared/errors.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

const READING = {
  plan: 'max',
  readAt: '2026-03-02T10:00:00.000Z',
  windows: [{ name: 'five_hour', usedPercent: 96, resetsAt: '2026-03-02T12:00:00.000Z' }],
  credits: null,
};

async function item(provider: 'claude', id: string) {
  const out = await documentClient().send(
    new GetCommand({ TableName: config().tableName, Key: accountKey(provider, id), ConsistentRead: true }),
  );
  return out.Item;
}

describe('storeUsage', () => {
  it('sets only the usage attributes: not updatedAt, not the lease, nothing of the refresh', async () => {
    const account = await seedAccount('claude', { lastRefreshAt: '2026-03-02T09:00:00.000Z' });
    const before = await item('claude', account.id);
    await storeUsage('claude', account.id, {
      usage: READING,
      usageNextReadAt: '2026-03-02T10:10:00.000Z',
      usageError: null,
    });
    expect(await item('claude', account.id)).toEqual({
      ...before,
      usage: READING,
      usageNextReadAt: '2026-03-02T10:10:00.000Z',
      usageError: null,
    });
    const stored = await getAccount('claude', account.id);
    expect(stored?.usage).toEqual({ plan: 'max', readAt: READING.readAt, windows: READING.windows });
    expect(stored?.usageNextReadAt).toBe('2026-03-02T10:10:00.000Z');

    // A failed read sends no `usage`: the last reading stays.
    await storeUsage('claude', account.id, {
      usageNextReadAt: '2026-03-02T10:20:00.000Z',
      usageError: 'the usage endpoint is rate limited',
    });
    expect(await item('claude', account.id)).toMatchObject({
      usage: READING,
      usageNextReadAt: '2026-03-02T10:20:00.000Z',
      usageError: 'the usage endpoint is rate limited',
      updatedAt: before?.updatedAt,
    });
  });

  it('answers not_found for an account removed meanwhile, and creates no item', async () => {
    await expect(
      storeUsage('claude', 'acc_gone', { usage: READING, usageNextReadAt: READING.readAt, usageError: null }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await item('claude', 'acc_gone')).toBeUndefined();
  });
});

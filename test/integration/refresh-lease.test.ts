import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '#shared/errors.ts';
import { acquireLease, readLease, releaseLease } from '#shared/oauth/lease.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const LEASE_MS = 120_000;

async function rawItem(provider: 'claude' | 'codex', accountId: string): Promise<Record<string, unknown> | undefined> {
  const out = await documentClient().send(
    new GetCommand({ TableName: aws.tableName, Key: accountKey(provider, accountId), ConsistentRead: true }),
  );
  return out.Item;
}

describe('refresh lease', () => {
  it('takes the lease with the account as it stands, and refuses a second owner while it runs', async () => {
    const account = await seedAccount('codex', { lastRefreshAt: '2026-11-22T06:00:00.000Z' });
    const target = { provider: 'codex' as const, accountId: account.id };
    expect(await acquireLease({ ...target, owner: 'first', durationMs: LEASE_MS, now: T0 })).toEqual({
      account,
      leaseUntil: T0 + LEASE_MS,
    });
    expect(await acquireLease({ ...target, owner: 'second', durationMs: LEASE_MS, now: T0 + LEASE_MS - 1 })).toBe(
      undefined,
    );
    expect(await readLease(target)).toEqual({
      exists: true,
      leaseUntil: T0 + LEASE_MS,
      leaseOwner: 'first',
      lastRefreshAt: '2026-11-22T06:00:00.000Z',
      status: 'connected',
      cooldownUntil: null,
    });
  });

  it('regression: a lease write whose answer was lost and that the SDK sends again finds the lease its own and returns the account', async () => {
    const account = await seedAccount('codex');
    const target = { provider: 'codex' as const, accountId: account.id };
    const request = { ...target, owner: 'retried', durationMs: LEASE_MS, now: T0 };
    const first = await acquireLease(request);
    expect(first).toEqual({ account, leaseUntil: T0 + LEASE_MS });
    // The same request again, as the SDK's automatic retry sends it.
    expect(await acquireLease(request)).toEqual(first);
    expect(await acquireLease({ ...request, owner: 'someone-else', now: T0 + 1 })).toBe(undefined);
    expect(await readLease(target)).toMatchObject({ leaseOwner: 'retried', leaseUntil: T0 + LEASE_MS });
  });

  it('regression: a lease write DynamoDB applied but whose answer was lost takes the lease when the SDK retries it', async () => {
    const account = await seedAccount('claude');
    const target = { provider: 'claude' as const, accountId: account.id };
    const sent: unknown[] = [];
    const name = `lose-lease-answer-${Math.random()}`;
    // The connection drops after DynamoDB applied the first lease write: the SDK sends it again.
    documentClient().middlewareStack.add(
      (next) => async (args) => {
        const lease = (args.input as { UpdateExpression?: string }).UpdateExpression?.startsWith('SET leaseUntil');
        if (lease) sent.push(structuredClone(args.input));
        const out = await next(args);
        if (lease && sent.length === 1) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return out;
      },
      { step: 'deserialize', name },
    );
    try {
      const leased = await acquireLease({ ...target, owner: 'answer-lost', durationMs: LEASE_MS, now: T0 });
      expect(leased).toEqual({ account, leaseUntil: T0 + LEASE_MS });
    } finally {
      documentClient().middlewareStack.remove(name);
    }
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
  });

  it('refuses the release and the changes of an owner whose lease was taken over, and applies the holder’s with the release', async () => {
    const account = await seedAccount('claude');
    const target = { provider: 'claude' as const, accountId: account.id };
    await acquireLease({ ...target, owner: 'lapsed', durationMs: LEASE_MS, now: T0 });
    // The first holder's lease ran out; a second refresher takes over.
    expect(await acquireLease({ ...target, owner: 'holder', durationMs: LEASE_MS, now: T0 + LEASE_MS + 1 })).toEqual({
      account,
      leaseUntil: T0 + 2 * LEASE_MS + 1,
    });

    const refused = await releaseLease({
      ...target,
      owner: 'lapsed',
      changes: { status: 'needs_reconnect', lastError: 'lost lease' },
    });
    expect(refused).toBe(undefined);
    expect(await rawItem('claude', account.id)).toMatchObject({
      status: 'connected',
      lastError: null,
      updatedAt: account.updatedAt,
      leaseOwner: 'holder',
      leaseUntil: T0 + 2 * LEASE_MS + 1,
    });

    const released = await releaseLease({
      ...target,
      owner: 'holder',
      changes: { lastRefreshAt: '2026-11-22T12:02:00.000Z', tokenExpiresAt: '2026-11-22T13:02:00.000Z' },
    });
    expect(released).toMatchObject({
      lastRefreshAt: '2026-11-22T12:02:00.000Z',
      tokenExpiresAt: '2026-11-22T13:02:00.000Z',
      status: 'connected',
    });
    const item = await rawItem('claude', account.id);
    expect(item).not.toHaveProperty('leaseOwner');
    expect(item).not.toHaveProperty('leaseUntil');
    expect(item?.updatedAt).toBe(released?.updatedAt);
  });

  it('releases without changes and leaves updatedAt alone', async () => {
    const account = await seedAccount('codex');
    const target = { provider: 'codex' as const, accountId: account.id };
    await acquireLease({ ...target, owner: 'only', durationMs: LEASE_MS, now: T0 });
    expect(await releaseLease({ ...target, owner: 'only' })).toEqual(account);
    expect(await readLease(target)).toMatchObject({ leaseOwner: null, leaseUntil: null });
  });

  it('neither takes nor releases a lease on an account that does not exist, and creates no item', async () => {
    const target = { provider: 'codex' as const, accountId: 'acc_00000000000000000000' };
    expect(await acquireLease({ ...target, owner: 'x', durationMs: LEASE_MS, now: T0 })).toBe(undefined);
    expect(await releaseLease({ ...target, owner: 'x', changes: { lastError: null } })).toBe(undefined);
    expect(await rawItem('codex', target.accountId)).toBe(undefined);
  });

  it('refuses a lease too short for one token call and the writes after it, and takes none', async () => {
    const account = await seedAccount('codex');
    await expect(refreshAccount({ provider: 'codex', accountId: account.id, leaseMs: 24_999 })).rejects.toThrow(
      new RangeError('leaseMs must be at least 25000 (one token call and the writes after it).'),
    );
    expect(await rawItem('codex', account.id)).not.toHaveProperty('leaseOwner');
    expect(await rawItem('codex', account.id)).toMatchObject({ updatedAt: account.updatedAt });
  });

  it('refuses to refresh an API-key account and gives the lease back', async () => {
    const account = await seedAccount('claude', { kind: 'api_key' });
    await expect(refreshAccount({ provider: 'claude', accountId: account.id })).rejects.toBeInstanceOf(ConflictError);
    expect(await readLease({ provider: 'claude', accountId: account.id })).toMatchObject({
      exists: true,
      leaseOwner: null,
      leaseUntil: null,
    });
    expect(await rawItem('claude', account.id)).toMatchObject({ updatedAt: account.updatedAt, status: 'connected' });
  });

  it('answers not_found for an account that does not exist, and creates no item', async () => {
    const accountId = 'acc_11111111111111111111';
    await expect(refreshAccount({ provider: 'codex', accountId })).rejects.toBeInstanceOf(NotFoundError);
    expect(await rawItem('codex', accountId)).toBe(undefined);
  });
});

import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '#shared/accounts/model.ts';
import { type AccountChanges, accountFromItem } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { ConditionFailedError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { buildUpdate, type Condition } from '#shared/store/update.ts';

/**
 * The refresh lease: `leaseUntil` and `leaseOwner` on the account item, so one writer at a time
 * refreshes an account (see `shared/oauth/refresh.ts`). Only this module writes them. Taking the
 * lease returns the account as it stands, and giving it back carries the refresh's own changes, so
 * a refresh costs two table writes and no read (a third, and a read, only when someone else changed
 * the account's status meanwhile).
 */

/** Which account a lease is on. */
export interface LeaseTarget {
  provider: ProviderId;
  accountId: string;
}

/** The lease as stored on the account item. */
export interface LeaseState {
  leaseUntil: number | null;
  leaseOwner: string | null;
  lastRefreshAt: string | null;
  status: Account['status'] | null;
  cooldownUntil: string | null;
  exists: boolean;
}

/** Reads the lease (and what a waiting refresher checks) with one consistent, projected read. */
export async function readLease({ provider, accountId }: LeaseTarget): Promise<LeaseState> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({
        TableName: config().tableName,
        Key: accountKey(provider, accountId),
        ConsistentRead: true,
        ProjectionExpression: 'leaseUntil, leaseOwner, lastRefreshAt, #s, cooldownUntil',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    ),
  );
  const item = out.Item;
  return {
    exists: item !== undefined,
    leaseUntil: typeof item?.leaseUntil === 'number' ? item.leaseUntil : null,
    leaseOwner: typeof item?.leaseOwner === 'string' ? item.leaseOwner : null,
    lastRefreshAt: typeof item?.lastRefreshAt === 'string' ? item.lastRefreshAt : null,
    status: (item?.status as Account['status'] | undefined) ?? null,
    cooldownUntil: typeof item?.cooldownUntil === 'string' ? item.cooldownUntil : null,
  };
}

/** A lease request: who takes it, for how long, and the clock it is judged by. */
export interface LeaseRequest extends LeaseTarget {
  owner: string;
  durationMs: number;
  now?: number;
}

/** A lease taken: the account as it stands under it, and when the lease runs out (epoch ms). */
export interface Leased {
  account: Account;
  leaseUntil: number;
}

/**
 * Takes the refresh lease: succeeds only if no lease is held, the holder's has run out, or the
 * holder is `owner` itself (the SDK sends a write again when its answer was lost, and that write
 * finds the lease it took), and returns the account as it stands under the lease. `undefined` when
 * someone else holds it or the account is gone ({@link readLease} tells which).
 *
 *   now ──────────────► now + durationMs
 *   [ this caller may refresh ]  after that, anyone may take over (the holder crashed)
 */
export async function acquireLease(request: LeaseRequest): Promise<Leased | undefined> {
  const now = request.now ?? Date.now();
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: config().tableName,
          Key: accountKey(request.provider, request.accountId),
          UpdateExpression: 'SET leaseUntil = :until, leaseOwner = :owner',
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':until': now + request.durationMs, ':owner': request.owner, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const item = out.Attributes ?? {};
    return { account: accountFromItem(item), leaseUntil: Number(item.leaseUntil) };
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

/** The account's pool state a write is conditioned on: as the writer last read it. */
export type StatusFacts = Pick<Account, 'status' | 'cooldownUntil'>;

/** Giving the lease back: whose it is, and the account changes that go with it (none: just release). */
export interface LeaseRelease extends LeaseTarget {
  owner: string;
  changes?: AccountChanges;
  /** Apply only while the account's status and cool-down are still these (none: whatever they are). */
  expected?: StatusFacts;
}

/** The condition that the account's status and cool-down are still `expected`. */
function unchanged(expected: StatusFacts): Condition {
  const names = { '#status': 'status', '#cooldown': 'cooldownUntil' };
  if (expected.cooldownUntil === null) {
    return {
      expression: '#status = :status AND (attribute_not_exists(#cooldown) OR attribute_type(#cooldown, :null))',
      names,
      values: { ':status': expected.status, ':null': 'NULL' },
    };
  }
  return {
    expression: '#status = :status AND #cooldown = :cooldown',
    names,
    values: { ':status': expected.status, ':cooldown': expected.cooldownUntil },
  };
}

/**
 * Gives the lease back and applies `changes` in the same write, only while `owner` still holds the
 * lease (and, given `expected`, while the account's status and cool-down are still those): a
 * refresher whose lease ran out and was taken over changes nothing (the new holder's outcome
 * stands). Returns the account after the write, or `undefined` when a condition failed (or the
 * account is gone); {@link readLease} tells which.
 */
export async function releaseLease({
  provider,
  accountId,
  owner,
  changes = {},
  expected,
}: LeaseRelease): Promise<Account | undefined> {
  const set = Object.keys(changes).length > 0 ? { ...changes, updatedAt: new Date().toISOString() } : {};
  const ownerStill: Condition = {
    expression: '#owner = :owner',
    names: { '#owner': 'leaseOwner' },
    values: { ':owner': owner },
  };
  const parts = buildUpdate(set, {
    remove: ['leaseUntil', 'leaseOwner'],
    conditions: expected ? [ownerStill, unchanged(expected)] : [ownerStill],
  });
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: config().tableName,
          Key: accountKey(provider, accountId),
          ...parts,
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return accountFromItem(out.Attributes ?? {});
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

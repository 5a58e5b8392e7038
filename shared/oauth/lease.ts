import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '#shared/accounts/model.ts';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';

/**
 * The refresh lease: `leaseUntil` and `leaseOwner` on the account item, so one writer at a time
 * refreshes an account (see `shared/oauth/refresh.ts`). Only this module and the refresh write them.
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
        ProjectionExpression: 'leaseUntil, leaseOwner, lastRefreshAt, #s',
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
  };
}

/** A lease request: who takes it, for how long, and the clock it is judged by. */
export interface LeaseRequest extends LeaseTarget {
  owner: string;
  durationMs: number;
  now?: number;
}

/**
 * Takes the refresh lease: succeeds only if no lease is held or the holder's has run out.
 *
 *   now ──────────────► now + durationMs
 *   [ this caller may refresh ]  after that, anyone may take over (the holder crashed)
 */
export async function acquireLease(request: LeaseRequest): Promise<boolean> {
  const now = request.now ?? Date.now();
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: accountKey(request.provider, request.accountId),
        UpdateExpression: 'SET leaseUntil = :until, leaseOwner = :owner',
        ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':until': now + request.durationMs, ':owner': request.owner, ':now': now },
      }),
    ),
  );
}

/** Gives the lease back, if this owner still holds it. */
export async function releaseLease({ provider, accountId, owner }: LeaseTarget & { owner: string }): Promise<void> {
  await conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: accountKey(provider, accountId),
        UpdateExpression: 'REMOVE leaseUntil, leaseOwner',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': owner },
      }),
    ),
  );
}

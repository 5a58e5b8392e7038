import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { type LaunchRecord, readLaunch } from '#shared/launch/records.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { encodeCursor, parseBefore } from '#shared/store/cursor.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';

/**
 * Launch listing without a Scan or a secondary index: every launch writes two small entries next
 * to its record, one in the partition of all launches and one in its caller's partition, sorted by
 * creation time, so "newest first" is one Query of one partition:
 *
 *   pk                      sk                      entry
 *   LAUNCHES                <createdAt>#<launchId>  every launch (admins' list)
 *   LAUNCHES#<callerId>     <createdAt>#<launchId>  the caller's launches (members' list)
 *
 * Entries hold the launch id and the fields a list is filtered by; the record itself (status,
 * task ARN) stays the one item that changes, and a page reads it by key.
 */
export const ALL_LAUNCHES = 'LAUNCHES';
export const callerLaunches = (callerId: string): string => `LAUNCHES#${callerId}`;

/** Longest run of Queries one page may make when filters skip most entries. */
const MAX_ROUNDS = 5;

interface Entry {
  pk: string;
  sk: string;
  launchId: string;
}

/** The launch's two listing entries (same TTL as the record), written with it. */
export function listingEntryItems(launch: LaunchRecord, ttl: number): Record<string, unknown>[] {
  const sk = `${launch.createdAt}#${launch.id}`;
  return [ALL_LAUNCHES, callerLaunches(launch.callerId)].map((pk) => ({
    pk,
    sk,
    type: 'launch-entry',
    launchId: launch.id,
    provider: launch.provider,
    accountId: launch.accountId,
    ttl,
  }));
}

export interface ListQuery {
  /** Only this caller's launches; undefined lists everyone's. */
  callerId?: string | undefined;
  limit: number;
  /** A `next` value from a previous page, or an ISO time: launches created strictly before it. */
  before?: string | undefined;
  provider?: ProviderId | undefined;
  accountId?: string | undefined;
}

/** The sort-key bound a `before` value stands for: a cursor's key, or a time (`validation_failed` otherwise). */
export function beforeBound(before: string, partition: string): string {
  const start = parseBefore(before, {
    attributes: ['pk', 'sk'],
    accept: (key) => key.pk === partition && typeof key.sk === 'string',
  });
  return 'time' in start ? start.time : String(start.cursor.sk);
}

function filterOf(query: ListQuery) {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  if (query.provider) {
    clauses.push('#provider = :provider');
    names['#provider'] = 'provider';
    values[':provider'] = query.provider;
  }
  if (query.accountId) {
    clauses.push('#accountId = :accountId');
    names['#accountId'] = 'accountId';
    values[':accountId'] = query.accountId;
  }
  return clauses.length === 0 ? undefined : { expression: clauses.join(' AND '), names, values };
}

/** Newest-first entries of one partition, at most `limit`, and where the next page starts. */
async function entries(partition: string, query: ListQuery): Promise<{ found: Entry[]; nextSk?: string }> {
  const filter = filterOf(query);
  const bound = query.before ? beforeBound(query.before, partition) : undefined;
  const found: Entry[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const out = await dynamo(() =>
      documentClient().send(
        new QueryCommand({
          TableName: config().tableName,
          KeyConditionExpression: bound ? '#pk = :pk AND #sk < :bound' : '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk', ...(bound ? { '#sk': 'sk' } : {}), ...filter?.names },
          ExpressionAttributeValues: { ':pk': partition, ...(bound ? { ':bound': bound } : {}), ...filter?.values },
          ...(filter ? { FilterExpression: filter.expression } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          ScanIndexForward: false,
          Limit: filter ? 100 : query.limit + 1 - found.length,
        }),
      ),
    );
    found.push(...((out.Items ?? []) as Entry[]));
    if (found.length > query.limit) {
      return { found: found.slice(0, query.limit), nextSk: found[query.limit - 1]?.sk };
    }
    if (!out.LastEvaluatedKey) return { found };
    startKey = out.LastEvaluatedKey;
  }
  // Filters skipped most of what was read: hand back a shorter page that continues where reading stopped.
  return { found, nextSk: String(startKey?.sk) };
}

/**
 * One page of launches, newest first: everyone's, or one caller's. `next` is a URL-safe cursor
 * (base64url) for the following page, present while more launches may follow.
 */
export async function listLaunches(query: ListQuery): Promise<{ launches: LaunchRecord[]; next?: string }> {
  const partition = query.callerId === undefined ? ALL_LAUNCHES : callerLaunches(query.callerId);
  const { found, nextSk } = await entries(partition, query);
  const records = await Promise.all(found.map((entry) => readLaunch(entry.launchId)));
  return {
    launches: records.filter((r): r is LaunchRecord => r !== undefined),
    ...(nextSk ? { next: encodeCursor({ pk: partition, sk: nextSk }) } : {}),
  };
}

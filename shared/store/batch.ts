import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { UpstreamError } from '#shared/errors.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import type { Key } from '#shared/store/keys.ts';

/**
 * Several items in one call. DynamoDB may answer a batch with part of it left undone
 * (`UnprocessedItems` / `UnprocessedKeys`, when a partition is throttled): that part is sent again,
 * after a short, growing wait, and only what is left after the last round is a failure.
 */

/** Rounds one batch may take, the first included. */
const MAX_ROUNDS = 5;
/** BatchWriteItem's and BatchGetItem's own limits on one request. */
const MAX_WRITES = 25;
const MAX_READS = 100;

const pause = (round: number): Promise<void> =>
  round === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, 25 * 2 ** (round - 1)));

const keyOf = (item: { pk?: unknown; sk?: unknown }): string => `${String(item.pk)}\n${String(item.sk)}`;

/**
 * Stores `items` (each a whole item, key included) with one BatchWriteItem: for writes that need no
 * condition and belong together. A batch write replaces items whole, so it is only for items this
 * caller creates.
 */
export async function putAll(items: Record<string, unknown>[]): Promise<void> {
  if (items.length > MAX_WRITES) throw new RangeError(`at most ${MAX_WRITES} items per batch`);
  const table = config().tableName;
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let round = 0; requests.length > 0; round++) {
    if (round === MAX_ROUNDS) throw new UpstreamError('DynamoDB did not accept every write; try again.');
    await pause(round);
    const out = await dynamo(() =>
      documentClient().send(new BatchWriteCommand({ RequestItems: { [table]: requests } })),
    );
    requests = (out.UnprocessedItems?.[table] ?? []).flatMap((r) =>
      r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
    );
  }
}

/**
 * Reads the items at `keys` consistently with one BatchGetItem; the answer is in the order of
 * `keys`, undefined where there is no item.
 */
export async function getAll(keys: Key[]): Promise<(Record<string, unknown> | undefined)[]> {
  if (keys.length > MAX_READS) throw new RangeError(`at most ${MAX_READS} keys per batch`);
  const table = config().tableName;
  const found = new Map<string, Record<string, unknown>>();
  let wanted: Record<string, unknown>[] = keys.map((key) => ({ pk: key.pk, sk: key.sk }));
  for (let round = 0; wanted.length > 0; round++) {
    if (round === MAX_ROUNDS) throw new UpstreamError('DynamoDB did not answer every read; try again.');
    await pause(round);
    const out = await dynamo(() =>
      documentClient().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: wanted, ConsistentRead: true } } })),
    );
    for (const item of out.Responses?.[table] ?? []) found.set(keyOf(item), item);
    wanted = out.UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return keys.map((key) => found.get(keyOf(key)));
}

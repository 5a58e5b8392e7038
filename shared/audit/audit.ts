import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditAction } from '#shared/audit/actions.ts';
import { config } from '#shared/config.ts';
import { logger } from '#shared/log/logger.ts';
import { redactDeep } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { encodeCursor, parseBefore } from '#shared/store/cursor.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { AUDIT_SHARDS, auditKey, auditPartition, LEGACY_AUDIT_PARTITION } from '#shared/store/keys.ts';

/** Audit events are kept about 13 months. */
const RETENTION_DAYS = 400;

/** Every action an audit event may record. A new kind of event gets its own name here. */

export interface AuditEvent {
  at: string;
  actor: string;
  action: AuditAction;
  provider?: ProviderId;
  accountId?: string;
  detail?: Record<string, unknown>;
}

/** An audit event ready to go into a batch write beside the records it describes. */
export interface AuditEntry {
  /** The DynamoDB item: keyed, redacted, with its TTL. */
  item: Record<string, unknown>;
  /** Logs the event as {@link audit} does; call it once the item is stored. */
  logged: () => void;
}

/**
 * Builds the item {@link audit} stores for `event`, without writing it, so a caller can put the
 * event in the same BatchWriteItem as the records it belongs to. The detail is redacted (by key
 * and by registered value), so no secret reaches the table even if a caller passes one by mistake.
 */
export function auditEntry(event: Omit<AuditEvent, 'at'> & { at?: string }): AuditEntry {
  const at = event.at ?? new Date().toISOString();
  const stored = redactDeep({ ...event, at });
  const item = {
    ...auditKey(`${at}#${randomBytes(6).toString('hex')}`),
    type: 'audit',
    ...stored,
    ttl: Math.ceil(Date.now() / 1000) + RETENTION_DAYS * 86_400,
  };
  return { item, logged: () => logger.info('audit', { audit: stored }) };
}

/** The DynamoDB item of `event` ({@link auditEntry} without the log line). */
export function auditItem(event: Omit<AuditEvent, 'at'> & { at?: string }): Record<string, unknown> {
  return auditEntry(event).item;
}

/** Records an event: one PutItem into its shard, then the log line. */
export async function audit(event: Omit<AuditEvent, 'at'> & { at?: string }): Promise<void> {
  const entry = auditEntry(event);
  await dynamo(() => documentClient().send(new PutCommand({ TableName: config().tableName, Item: entry.item })));
  entry.logged();
}

/**
 * Every partition the listing merges, in tie-break order: events with equal sort keys (in practice
 * never: each ends in a random id) come out highest position first.
 */
const PARTITIONS: readonly string[] = [
  LEGACY_AUDIT_PARTITION,
  ...Array.from({ length: AUDIT_SHARDS }, (_, shard) => auditPartition(shard)),
];

/** A page cursor names an item of an audit partition (`pk`, and its string `sk`), nothing else. */
const cursorRules = {
  attributes: ['pk', 'sk'],
  accept: (key: Record<string, unknown>) => PARTITIONS.includes(String(key.pk)) && typeof key.sk === 'string',
} as const;

/** Where a page starts, in the merged order: strictly after this event, or strictly before a time. */
type Position = { sk: string; rank: number } | { time: string };

/** The sort-key condition that keeps, in the partition at `rank` in {@link PARTITIONS}, what follows `from`. */
function after(from: Position | undefined, rank: number): { op: '<' | '<='; value: string } | undefined {
  if (from === undefined) return undefined;
  if ('time' in from) return { op: '<', value: from.time };
  // Equal sort keys order by rank, highest first: a lower-ranked partition still holds its equal one.
  return { op: rank < from.rank ? '<=' : '<', value: from.sk };
}

/** A partition's newest items after the bound, and whether DynamoDB stopped early (its 1 MB page limit). */
async function newestOf(
  pk: string,
  count: number,
  bound: ReturnType<typeof after>,
): Promise<{ items: Record<string, unknown>[]; cut: boolean }> {
  const out = await dynamo(() =>
    documentClient().send(
      new QueryCommand({
        TableName: config().tableName,
        KeyConditionExpression: bound ? `#pk = :pk AND #sk ${bound.op} :bound` : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk', ...(bound ? { '#sk': 'sk' } : {}) },
        ExpressionAttributeValues: { ':pk': pk, ...(bound ? { ':bound': bound.value } : {}) },
        ScanIndexForward: false,
        Limit: count,
      }),
    ),
  );
  const items = out.Items ?? [];
  return { items, cut: out.LastEvaluatedKey !== undefined && items.length < count };
}

const rankOf = (item: Record<string, unknown>): number => PARTITIONS.indexOf(String(item.pk));

/** Newest first: by sort key (time, then random id), then by partition rank. */
function newestFirst(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const [x, y] = [String(a.sk), String(b.sk)];
  if (x !== y) return x < y ? 1 : -1;
  return rankOf(b) - rankOf(a);
}

/**
 * Newest first, merged over every audit partition. `before` is either the `next` value of a
 * previous page (an opaque base64url cursor naming the last event shown: its partition and sort
 * key) or an ISO-8601 time; only events after that cursor, or strictly before that time, are
 * returned. Anything else is `validation_failed`. `next` is present only when more events follow.
 *
 * Read cost per page: one Query per partition ({@link AUDIT_SHARDS} + the legacy one), all at
 * once, each reading at most `limit + 1` items, so at most 5 × 101 items for a page of 100. One
 * round is exact: each of the newest `limit + 1` events after the cursor is among the newest
 * `limit + 1` of its own partition.
 */
export async function listAudit(limit: number, before?: string): Promise<{ events: AuditEvent[]; next?: string }> {
  const start = before === undefined ? undefined : parseBefore(before, cursorRules);
  const from: Position | undefined =
    start === undefined
      ? undefined
      : 'time' in start
        ? { time: start.time }
        : { sk: String(start.cursor.sk), rank: PARTITIONS.indexOf(String(start.cursor.pk)) };
  // One more than asked: whether it exists decides `next`, so the last page never points at an empty one.
  const pages = await Promise.all(PARTITIONS.map((pk, rank) => newestOf(pk, limit + 1, after(from, rank))));
  let merged = pages.flatMap((page) => page.items).sort(newestFirst);
  // A partition cut short by DynamoDB's 1 MB page may hold unread events older than its last one:
  // this page ends there, and the next one resumes from it, so none is skipped.
  for (const page of pages.filter((p) => p.cut)) {
    const oldest = page.items.at(-1);
    if (oldest) merged = merged.filter((item) => newestFirst(item, oldest) <= 0);
  }
  const items = merged.slice(0, limit);
  const last = items.at(-1);
  const more = merged.length > limit || pages.some((page) => page.cut);
  return {
    events: items.map(toEvent),
    ...(more && last ? { next: encodeCursor({ pk: String(last.pk), sk: String(last.sk) }) } : {}),
  };
}

function toEvent(item: Record<string, unknown>): AuditEvent {
  const { at, actor, action, provider, accountId, detail } = item as unknown as AuditEvent;
  return {
    at,
    actor,
    action,
    ...(provider ? { provider } : {}),
    ...(accountId ? { accountId } : {}),
    ...(detail ? { detail } : {}),
  };
}

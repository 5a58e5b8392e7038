import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { logger } from '#shared/log/logger.ts';
import { redactDeep } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { encodeCursor, parseBefore } from '#shared/store/cursor.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { AUDIT_PARTITION, auditKey } from '#shared/store/keys.ts';

/** Audit events are kept about 13 months. */
const RETENTION_DAYS = 400;

/** Every action an audit event may record. A new kind of event gets its own name here. */
export const AUDIT_ACTIONS = [
  'account.signed_in',
  'account.added',
  'account.renamed',
  'account.pool_changed',
  'account.updated',
  'account.key_rotated',
  'account.removed',
  'account.activated',
  'account.deactivated',
  'account.tested',
  'sign_in.completed',
  'settings.changed',
  'finance.changed',
  'environment.changed',
  'environment.deleted',
  'launch.started',
  'launch.stopped',
  'ticket.redeemed',
  'ticket.reused',
  'grant.issued',
  'grant.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  at: string;
  actor: string;
  action: AuditAction;
  provider?: ProviderId;
  accountId?: string;
  detail?: Record<string, unknown>;
}

/**
 * Records an event. The detail is redacted (by key and by registered value) before it is stored,
 * so no secret reaches the table even if a caller passes one by mistake.
 */
export async function audit(event: Omit<AuditEvent, 'at'> & { at?: string }): Promise<void> {
  const at = event.at ?? new Date().toISOString();
  const sortKey = `${at}#${randomBytes(6).toString('hex')}`;
  const item = redactDeep({ ...event, at });
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: config().tableName,
        Item: {
          ...auditKey(sortKey),
          type: 'audit',
          ...item,
          ttl: Math.ceil(Date.now() / 1000) + RETENTION_DAYS * 86_400,
        },
      }),
    ),
  );
  logger.info('audit', { audit: item });
}

/** A page cursor must name an item of the audit partition, nothing else. */
const cursorRules = {
  attributes: ['pk', 'sk'],
  accept: (key: Record<string, unknown>) => key.pk === AUDIT_PARTITION,
} as const;

/**
 * Newest first. `before` is either the `next` value of a previous page (an opaque base64url
 * cursor) or an ISO-8601 time; only events strictly before it are returned. Anything else is
 * `validation_failed`. `next` is present only when more events follow.
 */
export async function listAudit(limit: number, before?: string): Promise<{ events: AuditEvent[]; next?: string }> {
  const start = before === undefined ? undefined : parseBefore(before, cursorRules);
  const time = start && 'time' in start ? start.time : undefined;
  const out = await dynamo(() =>
    documentClient().send(
      new QueryCommand({
        TableName: config().tableName,
        KeyConditionExpression: time ? '#pk = :pk AND #sk < :before' : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk', ...(time ? { '#sk': 'sk' } : {}) },
        ExpressionAttributeValues: { ':pk': AUDIT_PARTITION, ...(time ? { ':before': time } : {}) },
        ...(start && 'cursor' in start ? { ExclusiveStartKey: start.cursor } : {}),
        ScanIndexForward: false,
        // One more than asked: whether it exists decides `next`, so the last page never points at an empty one.
        Limit: limit + 1,
      }),
    ),
  );
  const items = (out.Items ?? []).slice(0, limit);
  const events = items.map(toEvent);
  const last = items.at(-1);
  const more = (out.Items?.length ?? 0) > limit;
  return { events, ...(more && last ? { next: encodeCursor({ pk: last.pk, sk: last.sk }) } : {}) };
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

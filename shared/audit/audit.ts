import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { logger } from '#shared/log/logger.ts';
import { redactDeep } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { AUDIT_PARTITION, auditKey } from '#shared/store/keys.ts';

/** Audit events are kept about 13 months. */
const RETENTION_DAYS = 400;

export interface AuditEvent {
  at: string;
  actor: string;
  action: string;
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

/**
 * Newest first. `before` is either the `next` value of a previous page or an ISO timestamp; only
 * events strictly before it are returned.
 */
export async function listAudit(limit: number, before?: string): Promise<{ events: AuditEvent[]; next?: string }> {
  const out = await dynamo(() =>
    documentClient().send(
      new QueryCommand({
        TableName: config().tableName,
        KeyConditionExpression: before ? '#pk = :pk AND #sk < :before' : '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk', ...(before ? { '#sk': 'sk' } : {}) },
        ExpressionAttributeValues: { ':pk': AUDIT_PARTITION, ...(before ? { ':before': before } : {}) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    ),
  );
  const items = out.Items ?? [];
  const events = items.map((item) => {
    const { at, actor, action, provider, accountId, detail } = item as AuditEvent;
    return {
      at,
      actor,
      action,
      ...(provider ? { provider } : {}),
      ...(accountId ? { accountId } : {}),
      ...(detail ? { detail } : {}),
    };
  });
  const last = items.at(-1);
  return { events, ...(out.LastEvaluatedKey && last ? { next: String(last.sk) } : {}) };
}

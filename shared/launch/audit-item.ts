import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '#shared/audit/audit.ts';
import { logger } from '#shared/log/logger.ts';
import { redactDeep } from '#shared/log/redact.ts';
import { auditKey } from '#shared/store/keys.ts';

/** As `shared/audit/audit.ts`: events are kept about 13 months. */
const RETENTION_DAYS = 400;

/** An audit event ready to go into a batch write with the items it belongs to. */
export interface AuditEntry {
  item: Record<string, unknown>;
  /** Logs the event as `audit()` does; call it once the item is stored. */
  logged: () => void;
}

/**
 * The item `audit()` would store for `event` (redacted, keyed and with its TTL), so the launch and
 * redemption paths can write their event in the same BatchWriteItem as the records it describes.
 * It must build the item exactly as `audit()` does: it belongs in `shared/audit/audit.ts`, and
 * stands here only until that module exports it.
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

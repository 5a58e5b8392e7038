/**
 * Every audit action, in one module without imports so that the wire schemas and the console can
 * use the list and its type without loading the audit store.
 */
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
  'launch.failed',
  'ticket.redeemed',
  'ticket.reused',
  'grant.issued',
  'grant.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

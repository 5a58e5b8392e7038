import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { ConditionFailedError, TicketUsedError, UnauthorizedError } from '#shared/errors.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { launchKey, taskTokenKey, ticketKey } from '#shared/store/keys.ts';
import { buildUpdate, itemExists } from '#shared/store/update.ts';

/** A ticket is good for 15 minutes and one redemption. */
export const TICKET_TTL_MS = 15 * 60 * 1000;
/** Task tokens outlive the task's declared duration by this margin. */
export const TASK_MARGIN_MS = 15 * 60 * 1000;

export interface LaunchRecord {
  id: string;
  provider: ProviderId;
  accountId: string;
  accountLabel: string;
  callerId: string;
  model: string | null;
  effort: string | null;
  maxDurationMinutes: number;
  warnings: string[];
  /** Gemini only: the task outlives the access token and receives the (non-rotating) refresh token. */
  deliverRefreshToken: boolean;
  taskArn: string | null;
  taskTokenHash: string | null;
  status: 'starting' | 'running' | 'stopped';
  createdAt: string;
  expiresAt: string;
}

const table = (): string => config().tableName;
const ttlOf = (iso: string): number => Math.ceil(Date.parse(iso) / 1000) + 86_400;

/** SHA-256 of a 256-bit random value: enough to store it without keeping it. */
export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newLaunchId(): string {
  return `lch_${randomBytes(10).toString('hex')}`;
}

export async function putLaunch(launch: LaunchRecord): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: { ...launchKey(launch.id), type: 'launch', ...launch, ttl: ttlOf(launch.expiresAt) + 30 * 86_400 },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
}

export async function getLaunch(id: string): Promise<LaunchRecord | undefined> {
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: table(), Key: launchKey(id), ConsistentRead: true })),
  );
  return out.Item as LaunchRecord | undefined;
}

export async function updateLaunch(
  id: string,
  changes: Partial<Pick<LaunchRecord, 'taskArn' | 'status' | 'taskTokenHash'>>,
): Promise<void> {
  const parts = buildUpdate(changes, { conditions: [itemExists] });
  await dynamo(() => documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(id), ...parts })));
}

/** Creates the launch's single-use ticket (256 random bits, stored only as its hash). */
export async function createTicket(launchId: string, now = Date.now()): Promise<string> {
  const ticket = `kfk_${randomBytes(32).toString('base64url')}`;
  registerSecret(ticket);
  const expiresAt = new Date(now + TICKET_TTL_MS).toISOString();
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: { ...ticketKey(hashOf(ticket)), type: 'ticket', launchId, expiresAt, ttl: ttlOf(expiresAt) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  return ticket;
}

/**
 * Redeems a ticket once: a conditional write marks it used only if it exists, is unused and has not
 * expired (checked against `expiresAt`, whatever TTL has done). A second redemption is logged as a
 * `ticket_reuse` event — a sign that the ticket leaked — and answered like an unknown ticket.
 */
export async function redeemTicket(ticket: string, now = Date.now()): Promise<string> {
  const key = ticketKey(hashOf(ticket));
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: key,
          UpdateExpression: 'SET usedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :iso',
          ExpressionAttributeValues: { ':now': new Date(now).toISOString(), ':iso': new Date(now).toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return String(out.Attributes?.launchId);
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const existing = await dynamo(() =>
      documentClient().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true })),
    );
    const reused = existing.Item?.usedAt !== undefined;
    if (reused) {
      logger.warn('ticket_reuse', { ticketReuse: 1, launchId: existing.Item?.launchId });
    }
    const failure = new TicketUsedError('This ticket was already used or has expired. Launch the task again.');
    (failure as TicketUsedError & { reusedLaunchId?: string }).reusedLaunchId = reused
      ? String(existing.Item?.launchId)
      : undefined;
    throw failure;
  }
}

/** Issues the launch's task token (stored hashed), valid until the launch expires. */
export async function issueTaskToken(launch: LaunchRecord): Promise<string> {
  const token = `kft_${randomBytes(32).toString('base64url')}`;
  registerSecret(token);
  const hash = hashOf(token);
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...taskTokenKey(hash),
          type: 'task-token',
          launchId: launch.id,
          provider: launch.provider,
          accountId: launch.accountId,
          expiresAt: launch.expiresAt,
          ttl: ttlOf(launch.expiresAt),
        },
      }),
    ),
  );
  await updateLaunch(launch.id, { taskTokenHash: hash, status: 'running' });
  return token;
}

export interface TaskTokenGrant {
  launchId: string;
  provider: ProviderId;
  accountId: string;
  expiresAt: string;
}

/** The launch a task token belongs to, or `unauthorized` if it is unknown, revoked or expired. */
export async function authenticateTaskToken(token: string | undefined, now = Date.now()): Promise<TaskTokenGrant> {
  if (!token || !/^kft_[A-Za-z0-9_-]{43}$/.test(token)) throw new UnauthorizedError('A valid task token is required.');
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: table(), Key: taskTokenKey(hashOf(token)), ConsistentRead: true }),
    ),
  );
  const item = out.Item as (TaskTokenGrant & { revokedAt?: string }) | undefined;
  if (!item || item.revokedAt || Date.parse(item.expiresAt) <= now) {
    throw new UnauthorizedError('This task token is not valid (unknown, revoked or expired).');
  }
  return { launchId: item.launchId, provider: item.provider, accountId: item.accountId, expiresAt: item.expiresAt };
}

/** Revokes the launch's task token (its task stopped). Returns whether a token was revoked. */
export async function revokeLaunch(launchId: string): Promise<boolean> {
  const launch = await getLaunch(launchId);
  if (!launch) return false;
  await updateLaunch(launchId, { status: 'stopped' });
  if (!launch.taskTokenHash) return false;
  await conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: taskTokenKey(launch.taskTokenHash ?? ''),
        UpdateExpression: 'SET revokedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
  return true;
}

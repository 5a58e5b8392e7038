import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { ConditionFailedError, TicketUsedError, UnauthorizedError } from '#shared/errors.ts';
import { putListingEntries } from '#shared/launch/listing.ts';
import type { Delivery } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { launchKey, taskTokenKey, ticketKey } from '#shared/store/keys.ts';
import { buildUpdate, type Condition, itemExists } from '#shared/store/update.ts';

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
  /** How the task receives its credentials (ARCHITECTURE decision 12); records from before it are `ticket`. */
  delivery: Delivery;
  taskArn: string | null;
  /** SHA-256 of the launch's ticket, so stopping the task can spend it. */
  ticketHash: string | null;
  taskTokenHash: string | null;
  status: LaunchStatus;
  createdAt: string;
  stoppedAt?: string | null;
  expiresAt: string;
  /** What the launch's proxy reported (proxy delivery only): totals since the proxy started. */
  usage?: LaunchUsage;
}

/** API.md Launch `usage`. */
export interface LaunchUsage {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  statusCounts: Record<string, number>;
}

export type LaunchStatus = 'starting' | 'running' | 'stopped' | 'failed';

const table = (): string => config().tableName;
const ttlOf = (iso: string): number => Math.ceil(Date.parse(iso) / 1000) + 86_400;

/** SHA-256 of a 256-bit random value: enough to store it without keeping it. */
export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newLaunchId(): string {
  return `lch_${randomBytes(10).toString('hex')}`;
}

/** Launch records (and their listing entries) are kept 30 days after the task's deadline. */
export const launchTtl = (launch: Pick<LaunchRecord, 'expiresAt'>): number => ttlOf(launch.expiresAt) + 30 * 86_400;

/** Stores a new launch and its listing entries (see `listing.ts`). */
export async function putLaunch(launch: LaunchRecord): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: { ...launchKey(launch.id), type: 'launch', ...launch, ttl: launchTtl(launch) },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
  await putListingEntries(launch, launchTtl(launch));
}

export async function getLaunch(id: string): Promise<LaunchRecord | undefined> {
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: table(), Key: launchKey(id), ConsistentRead: true })),
  );
  return out.Item as LaunchRecord | undefined;
}

export async function updateLaunch(
  id: string,
  changes: Partial<Pick<LaunchRecord, 'taskArn' | 'status'>>,
): Promise<void> {
  const parts = buildUpdate(changes, { conditions: [itemExists] });
  await dynamo(() => documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(id), ...parts })));
}

/** A new ticket value (256 random bits), registered for redaction. */
export function newTicket(): string {
  const ticket = `kfk_${randomBytes(32).toString('base64url')}`;
  registerSecret(ticket);
  return ticket;
}

/** Stores the launch's single-use ticket, only as its hash. */
export async function createTicket(launchId: string, ticket: string, now = Date.now()): Promise<void> {
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
}

/**
 * Redeems a ticket once: a conditional write marks it used only if it exists, is unused, was not
 * spent by its task stopping, and has not expired (checked against `expiresAt`, whatever TTL has
 * done). A second redemption is logged as a `ticket_reuse` event — a sign that the ticket leaked —
 * and answered like an unknown ticket; so is a spent ticket, without the reuse alarm.
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
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :iso',
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

/**
 * Issues the launch's task token (stored hashed), valid until the launch expires, and marks the
 * launch running — only if it is still starting: a task that stopped meanwhile gets no token (the
 * one just written is revoked at once) and `ticket_used`.
 */
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
  const starting: Condition = {
    expression: '#status = :starting',
    names: { '#status': 'status' },
    values: { ':starting': 'starting' },
  };
  const parts = buildUpdate({ taskTokenHash: hash, status: 'running' }, { conditions: [itemExists, starting] });
  const marked = await conditional(() =>
    documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(launch.id), ...parts })),
  );
  if (!marked) {
    await revokeTaskToken(hash);
    throw new TicketUsedError('This task has stopped; its ticket can no longer be used. Launch the task again.');
  }
  return token;
}

export interface TaskTokenGrant {
  launchId: string;
  provider: ProviderId;
  accountId: string;
  expiresAt: string;
}

/**
 * The launch a task token belongs to, or `unauthorized` if the token is unknown, revoked or
 * expired, or its launch has stopped (even if revoking the token itself did not happen). With
 * `graceMs`, a token whose task stopped (or whose life ended) at most that long ago still counts:
 * a proxy sends its last usage report while its task is being stopped.
 */
export async function authenticateTaskToken(
  token: string | undefined,
  now = Date.now(),
  options: { graceMs?: number } = {},
): Promise<TaskTokenGrant> {
  if (!token || !/^kft_[A-Za-z0-9_-]{43}$/.test(token)) throw new UnauthorizedError('A valid task token is required.');
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: table(), Key: taskTokenKey(hashOf(token)), ConsistentRead: true }),
    ),
  );
  const item = out.Item as (TaskTokenGrant & { revokedAt?: string }) | undefined;
  const invalid = new UnauthorizedError('This task token is not valid (unknown, revoked or expired).');
  const grace = options.graceMs ?? 0;
  // Within the grace period after `at` (or never ended): still acceptable.
  const lapsed = (at: string | null | undefined) => typeof at === 'string' && Date.parse(at) + grace <= now;
  if (!item || lapsed(item.revokedAt) || lapsed(item.expiresAt)) throw invalid;
  const launch = await getLaunch(item.launchId);
  if (!launch || launch.status === 'failed') throw invalid;
  if (launch.status === 'stopped' && (grace === 0 || lapsed(launch.stoppedAt ?? launch.createdAt))) throw invalid;
  return { launchId: item.launchId, provider: item.provider, accountId: item.accountId, expiresAt: item.expiresAt };
}

async function revokeTaskToken(hash: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: taskTokenKey(hash),
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
}

/** Spends a ticket that was never redeemed, so it cannot be redeemed later. */
async function spendTicket(hash: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: ticketKey(hash),
        UpdateExpression: 'SET revokedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
}

export interface StopOutcome {
  /** The launch's task token was revoked now. */
  tokenRevoked: boolean;
  /** The launch's ticket had not been redeemed and is spent now. */
  ticketSpent: boolean;
}

/**
 * Marks the launch stopped (its task ended), then spends its ticket and revokes its task token.
 * The status is written first and read back in the same request, so a redemption racing with the
 * stop either sees `stopped` or has already recorded the token hash that is revoked here.
 * Undefined when there is no such launch.
 */
export async function stopLaunch(launchId: string, now = Date.now()): Promise<StopOutcome | undefined> {
  let launch: LaunchRecord;
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: launchKey(launchId),
          UpdateExpression: 'SET #status = :stopped, #stoppedAt = if_not_exists(#stoppedAt, :now)',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk', '#status': 'status', '#stoppedAt': 'stoppedAt' },
          ExpressionAttributeValues: { ':stopped': 'stopped', ':now': new Date(now).toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    launch = out.Attributes as LaunchRecord;
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
  const ticketSpent = launch.ticketHash ? await spendTicket(launch.ticketHash) : false;
  const tokenRevoked = launch.taskTokenHash ? await revokeTaskToken(launch.taskTokenHash) : false;
  return { tokenRevoked, ticketSpent };
}

/** Stops the launch (see {@link stopLaunch}). Returns whether a task token was revoked. */
export async function revokeLaunch(launchId: string): Promise<boolean> {
  return (await stopLaunch(launchId))?.tokenRevoked ?? false;
}

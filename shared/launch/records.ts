import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '#shared/accounts/model.ts';
import { config } from '#shared/config.ts';
import { ConditionFailedError, TicketUsedError, UnauthorizedError } from '#shared/errors.ts';
import { listingEntryItems } from '#shared/launch/listing.ts';
import type { Delivery } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { putAll } from '#shared/store/batch.ts';
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

/** What redeeming a ticket needs, stored with the ticket so that redemption reads nothing else. */
export interface TicketFacts {
  launch: Pick<
    LaunchRecord,
    'id' | 'provider' | 'accountId' | 'model' | 'effort' | 'deliverRefreshToken' | 'expiresAt'
  >;
  /** The launch's account as it was when the ticket was made, without its usage figures. */
  account: Account;
}

function ticketFacts(launch: LaunchRecord, account: Account): TicketFacts {
  const { usage: _usage, usageNextReadAt: _next, lastUsedAt: _used, ...snapshot } = account;
  const { id, provider, accountId, model, effort, deliverRefreshToken, expiresAt } = launch;
  return { launch: { id, provider, accountId, model, effort, deliverRefreshToken, expiresAt }, account: snapshot };
}

/**
 * The items a new launch stores together, before its task starts: the launch record, its listing
 * entries (see `listing.ts`) and its single-use ticket — only the ticket's hash, with the facts its
 * redemption needs. None needs a condition: the launch id (80 random bits) and the ticket (256)
 * are new by construction.
 */
export function newLaunchItems(launch: LaunchRecord, ticket: string, account: Account): Record<string, unknown>[] {
  const ticketExpiresAt = new Date(Date.parse(launch.createdAt) + TICKET_TTL_MS).toISOString();
  return [
    { ...launchKey(launch.id), type: 'launch', ...launch, ttl: launchTtl(launch) },
    ...listingEntryItems(launch, launchTtl(launch)),
    {
      ...ticketKey(hashOf(ticket)),
      type: 'ticket',
      launchId: launch.id,
      expiresAt: ticketExpiresAt,
      ttl: ttlOf(ticketExpiresAt),
      facts: ticketFacts(launch, account),
    },
  ];
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

/** A redeemed ticket: its launch, and the facts stored with it (absent on tickets made before they were). */
export interface RedeemedTicket {
  launchId: string;
  facts: TicketFacts | undefined;
}

/**
 * Redeems a ticket once: a conditional write marks it used only if it exists, is unused, was not
 * spent by its task stopping, and has not expired (checked against `expiresAt`, whatever TTL has
 * done), and answers the ticket as stored. A second redemption is logged as a `ticket_reuse` event
 * — a sign that the ticket leaked — and answered like an unknown ticket; so is a spent ticket,
 * without the reuse alarm.
 */
export async function redeemTicket(ticket: string, now = Date.now()): Promise<RedeemedTicket> {
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
    const facts = out.Attributes?.facts as TicketFacts | undefined;
    return { launchId: String(out.Attributes?.launchId), facts };
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

/** A new task token value (256 random bits), registered for redaction, and its hash. */
export function newTaskToken(): { token: string; hash: string } {
  const token = `kft_${randomBytes(32).toString('base64url')}`;
  registerSecret(token);
  return { token, hash: hashOf(token) };
}

/**
 * Marks the launch running with its task token's hash — only while it is still starting: a task
 * that stopped meanwhile gets no token, and `ticket_used`. This is the write that decides; the
 * token item is stored after it (see {@link taskTokenItem}), so stopping the launch from here on
 * finds the hash to revoke, and a token whose launch stopped is refused whatever its own item says.
 */
export async function markRunning(launchId: string, taskTokenHash: string): Promise<void> {
  const starting: Condition = {
    expression: '#status = :starting',
    names: { '#status': 'status' },
    values: { ':starting': 'starting' },
  };
  const parts = buildUpdate({ taskTokenHash, status: 'running' }, { conditions: [itemExists, starting] });
  const marked = await conditional(() =>
    documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(launchId), ...parts })),
  );
  if (!marked) {
    throw new TicketUsedError('This task has stopped; its ticket can no longer be used. Launch the task again.');
  }
}

/** The task token's item (stored hashed), valid until the launch expires. */
export function taskTokenItem(
  hash: string,
  launch: Pick<LaunchRecord, 'id' | 'provider' | 'accountId' | 'expiresAt'>,
): Record<string, unknown> {
  return {
    ...taskTokenKey(hash),
    type: 'task-token',
    launchId: launch.id,
    provider: launch.provider,
    accountId: launch.accountId,
    expiresAt: launch.expiresAt,
    ttl: ttlOf(launch.expiresAt),
  };
}

/**
 * Issues the launch's task token: marks the launch running ({@link markRunning}, refused once it
 * stopped) and stores the token, with any `alongside` items in the same batch write.
 */
export async function issueTaskToken(launch: LaunchRecord, alongside: Record<string, unknown>[] = []): Promise<string> {
  const { token, hash } = newTaskToken();
  await markRunning(launch.id, hash);
  await putAll([taskTokenItem(hash, launch), ...alongside]);
  return token;
}

export interface TaskTokenGrant {
  launchId: string;
  provider: ProviderId;
  accountId: string;
  expiresAt: string;
}

/** An authenticated task token: its grant, and the delivery its launch's record names. */
export interface AuthenticatedTask extends TaskTokenGrant {
  delivery: Delivery;
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
): Promise<AuthenticatedTask> {
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
  const { launchId, provider, accountId, expiresAt } = item;
  return { launchId, provider, accountId, expiresAt, delivery: launch.delivery ?? 'ticket' };
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
 * stop either sees `stopped` or has already recorded the token hash that is revoked here. (Its
 * token item may land just after this revocation found none: it is refused all the same, since
 * {@link authenticateTaskToken} checks the launch.) Undefined when there is no such launch.
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

import { randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { ConditionFailedError, TicketUsedError } from '#shared/errors.ts';
import { ttlOf } from '#shared/launch/hash.ts';
import type { Delivery } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { launchKey } from '#shared/store/keys.ts';
import { buildUpdate, type Condition, itemExists } from '#shared/store/update.ts';

/**
 * The launch record, `LAUNCH#<id>` / `LAUNCH`: the one item of a launch that changes (status, task
 * ARN, the hashes of its ticket and task token, its proxy's usage). Its ticket (`tickets.ts`), task
 * token (`task-tokens.ts`) and listing entries (`listing.ts`) are items of their own.
 */

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

/** A new launch id (80 random bits). */
export function newLaunchId(): string {
  return `lch_${randomBytes(10).toString('hex')}`;
}

/** Launch records (and their listing entries) are kept 30 days after the task's deadline. */
export const launchTtl = (launch: Pick<LaunchRecord, 'expiresAt'>): number => ttlOf(launch.expiresAt) + 30 * 86_400;

/**
 * The new launch's record, stored before its task starts. It needs no condition: the launch id
 * (80 random bits) is new by construction.
 */
export function launchItem(launch: LaunchRecord): Record<string, unknown> {
  return { ...launchKey(launch.id), type: 'launch', ...launch, ttl: launchTtl(launch) };
}

/** The launch record, read consistently; undefined when there is none. */
export async function getLaunch(id: string): Promise<LaunchRecord | undefined> {
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: table(), Key: launchKey(id), ConsistentRead: true })),
  );
  return out.Item as LaunchRecord | undefined;
}

/** Sets the launch's task ARN or status; the launch must exist. */
export async function updateLaunch(
  id: string,
  changes: Partial<Pick<LaunchRecord, 'taskArn' | 'status'>>,
): Promise<void> {
  const parts = buildUpdate(changes, { conditions: [itemExists] });
  await dynamo(() => documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(id), ...parts })));
}

/** The launch as an eventually consistent read finds it: enough for a listing page. */
export async function readLaunch(id: string): Promise<LaunchRecord | undefined> {
  const out = await dynamo(() => documentClient().send(new GetCommand({ TableName: table(), Key: launchKey(id) })));
  return out.Item as LaunchRecord | undefined;
}

/**
 * Marks the launch running with its task token's hash — only while it is still starting: a task
 * that stopped meanwhile gets no token, and `ticket_used`. This is the write that decides; the
 * token item is stored after it (`taskTokenItem` in `task-tokens.ts`), so stopping the launch from
 * here on finds the hash to revoke, and a token whose launch stopped is refused whatever its own
 * item says.
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

/**
 * Gives up a redemption that marked the launch running but could not hand out its credential: the
 * launch becomes `failed`, but only while it still carries this redemption's task-token hash.
 * Best effort; a failure is logged, never thrown.
 */
export async function markRedemptionFailed(launchId: string, taskTokenHash: string): Promise<void> {
  const ours: Condition = {
    expression: '#hash = :hash AND #status = :running',
    names: { '#hash': 'taskTokenHash', '#status': 'status' },
    values: { ':hash': taskTokenHash, ':running': 'running' },
  };
  const parts = buildUpdate({ status: 'failed' }, { conditions: [itemExists, ours] });
  await conditional(() =>
    documentClient().send(new UpdateCommand({ TableName: table(), Key: launchKey(launchId), ...parts })),
  ).catch((error: unknown) => logger.warn('could not mark the launch failed', { launchId, error }));
}

/**
 * Marks the launch stopped (its task ended), keeping the first stop time, and answers the record
 * as it now is; undefined when there is no such launch.
 */
export async function markStopped(launchId: string, now = Date.now()): Promise<LaunchRecord | undefined> {
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
    return out.Attributes as LaunchRecord;
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

/**
 * Stores the totals on the launch unless it already holds a report with more requests (reports
 * are cumulative, so a late or repeated one is older news). Answers the totals it replaced, or
 * `stale` when it was older.
 */
export async function storeLaunchUsage(launchId: string, usage: LaunchUsage): Promise<LaunchUsage | null | 'stale'> {
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: launchKey(launchId),
          UpdateExpression: 'SET #usage = :usage',
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#usage) OR #usage.#requests <= :requests)',
          ExpressionAttributeNames: { '#pk': 'pk', '#usage': 'usage', '#requests': 'requests' },
          ExpressionAttributeValues: { ':usage': usage, ':requests': usage.requests },
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    return (out.Attributes?.usage as LaunchUsage | undefined) ?? null;
  } catch (error) {
    if (error instanceof ConditionFailedError) return 'stale';
    throw error;
  }
}

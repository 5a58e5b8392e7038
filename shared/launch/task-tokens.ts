import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { UnauthorizedError } from '#shared/errors.ts';
import { hashOf, ttlOf } from '#shared/launch/hash.ts';
import { getLaunch, type LaunchRecord, markRunning } from '#shared/launch/records.ts';
import type { Delivery } from '#shared/launch/runner.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { putAll } from '#shared/store/batch.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { taskTokenKey } from '#shared/store/keys.ts';
import { markRevoked } from '#shared/store/revoke.ts';

/**
 * A launch's task token, `TASKTOKEN#<sha256>` / `TOKEN`: what its task (or proxy) presents on the
 * container routes until the launch expires or stops. Stored only as the hash of its value.
 * Issuing and authenticating a token also write and read its launch record (`records.ts`) on
 * purpose: the launch's status is what decides.
 */

const table = (): string => config().tableName;

/** A new task token value (256 random bits), registered for redaction, and its hash. */
export function newTaskToken(): { token: string; hash: string } {
  const token = `kft_${randomBytes(32).toString('base64url')}`;
  registerSecret(token);
  return { token, hash: hashOf(token) };
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

/** Revokes a task token (by its hash) from now on; false when there is no such token. */
export function revokeTaskToken(hash: string): Promise<boolean> {
  return markRevoked(taskTokenKey(hash), new Date().toISOString());
}

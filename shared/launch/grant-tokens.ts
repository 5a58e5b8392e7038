import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { UnauthorizedError } from '#shared/errors.ts';
import type { GrantRecord } from '#shared/launch/grants.ts';
import { hashOf } from '#shared/launch/hash.ts';
import { registerSecret } from '#shared/log/redact.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { markRevoked } from '#shared/store/revoke.ts';

/**
 * A grant's value, `GRANTTOKEN#<sha256>` / `TOKEN`: the grant as presented by a workstation, found
 * by the hash of its value (the value itself is never stored). The owner's list entry of the same
 * grant is `grants.ts`'s.
 */
const tokenKey = (hash: string) => ({ pk: `GRANTTOKEN#${hash}`, sk: 'TOKEN' });

const GRANT_TOKEN = /^kfg_[A-Za-z0-9_-]{43}$/;

/** What a grant proves when it is presented: the caller and the account it is bound to. */
export interface GrantHolder {
  grantId: string;
  callerId: string;
  provider: ProviderId;
  accountId: string;
  expiresAt: string;
}

const table = (): string => config().tableName;

/** True for values shaped like a grant (`kfg_…`), as opposed to a launch's task token. */
export const isGrantToken = (value: string | undefined): boolean => value?.startsWith('kfg_') === true;

/** A new grant value (256 random bits), registered for redaction. */
export function newGrantToken(): string {
  const token = `kfg_${randomBytes(32).toString('base64url')}`;
  registerSecret(token);
  return token;
}

/** The grant's token item: the record under the hash of its value. */
export function grantTokenItem(token: string, record: GrantRecord, ttl: number): Record<string, unknown> {
  return { ...tokenKey(hashOf(token)), type: 'grant-token', ...record, ttl };
}

/** Marks the grant's value revoked at `revokedAt` (kept if it already was); false when there is no such item. */
export function revokeGrantToken(tokenHash: string, revokedAt: string): Promise<boolean> {
  return markRevoked(tokenKey(tokenHash), revokedAt);
}

/** The grant a value belongs to, or `unauthorized` if it is unknown, revoked or expired. */
export async function authenticateGrant(token: string | undefined, now = Date.now()): Promise<GrantHolder> {
  if (!token || !GRANT_TOKEN.test(token)) throw new UnauthorizedError('A valid grant is required.');
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: table(), Key: tokenKey(hashOf(token)), ConsistentRead: true })),
  );
  const item = out.Item as GrantRecord | undefined;
  if (!item || item.revokedAt || Date.parse(item.expiresAt) <= now) {
    throw new UnauthorizedError('This grant is not valid (unknown, revoked or expired). Run keyfleet sync again.');
  }
  return {
    grantId: item.id,
    callerId: item.callerId,
    provider: item.provider,
    accountId: item.accountId,
    expiresAt: item.expiresAt,
  };
}

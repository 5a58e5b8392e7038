import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { ACTIVE_PREFIX, type Key, personalActiveKey, providerSettingsKey } from '#shared/store/keys.ts';
import { buildUpdate, type Condition } from '#shared/store/update.ts';

/**
 * Active-account pointers. A member's own pointer is its own item (`ACTIVE#<ownerId>`); the team's
 * is the `activeAccountId` attribute of the provider settings item, where it has always been stored
 * (moving it would strand the pointer of every deployed table). This module is the only writer of
 * either.
 */

/** A pointer's place: the team's (owner null) or one member's own. */
export interface ActiveScope {
  provider: ProviderId;
  owner: string | null;
}

function keyOf({ provider, owner }: ActiveScope): Key {
  return owner === null ? providerSettingsKey(provider) : personalActiveKey(provider, owner);
}

function attributeOf(owner: string | null): string {
  return owner === null ? 'activeAccountId' : 'accountId';
}

/** A member's pointer item as `[ownerId, accountId]`, or undefined for any other item. */
export function personalPointerOf(item: Record<string, unknown>): [string, string] | undefined {
  const sk = String(item.sk);
  if (!sk.startsWith(ACTIVE_PREFIX) || typeof item.accountId !== 'string') return undefined;
  return [sk.slice(ACTIVE_PREFIX.length), item.accountId];
}

/** Sends a conditional update; false when the condition did not hold (nothing changed). */
function conditionalUpdate(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
  return conditional(() => documentClient().send(new UpdateCommand({ TableName: config().tableName, ...input })));
}

/** What {@link setActiveAccount} writes: the pointer's scope, its new value, and an optional guard. */
export interface ActiveChange extends ActiveScope {
  /** The account to point at; null clears the pointer. */
  accountId: string | null;
  /** Change only while the pointer still names this account (used when an account is removed). */
  onlyIf?: string;
}

/**
 * Points the provider's active account (or a member's own, when `owner` is set) at `accountId`,
 * or clears it with null. Returns whether the pointer changed.
 */
export async function setActiveAccount(change: ActiveChange): Promise<boolean> {
  const attribute = attributeOf(change.owner);
  const conditions: Condition[] =
    change.onlyIf === undefined
      ? []
      : [{ expression: '#cur = :cur', names: { '#cur': attribute }, values: { ':cur': change.onlyIf } }];
  const parts = buildUpdate({ [attribute]: change.accountId, updatedAt: new Date().toISOString() }, { conditions });
  return conditionalUpdate({ Key: keyOf(change), ...parts });
}

/**
 * Makes `accountId` the active account of its scope if the scope has none yet (the first account
 * of a provider becomes active). Returns whether it did.
 */
export async function setActiveIfNone(change: ActiveScope & { accountId: string }): Promise<boolean> {
  return conditionalUpdate({
    Key: keyOf(change),
    UpdateExpression: 'SET #a = :id, updatedAt = :now',
    ConditionExpression: 'attribute_not_exists(#a) OR #a = :null',
    ExpressionAttributeNames: { '#a': attributeOf(change.owner) },
    ExpressionAttributeValues: { ':id': change.accountId, ':now': new Date().toISOString(), ':null': null },
  });
}

/** The active account id of a scope (the team's, or one member's own). */
export async function getActiveAccountId(scope: ActiveScope): Promise<string | null> {
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: config().tableName, Key: keyOf(scope), ConsistentRead: true })),
  );
  const value = out.Item?.[attributeOf(scope.owner)];
  return typeof value === 'string' ? value : null;
}

import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account, AccountRef } from '#shared/accounts/model.ts';
import { config } from '#shared/config.ts';
import { ConditionFailedError, NotFoundError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { buildUpdate, type Condition, itemExists } from '#shared/store/update.ts';
import { type UsageAttributes, usageView } from '#shared/usage/account.ts';

/**
 * Account items (`PROVIDER#<provider>` / `ACCOUNT#<id>`): metadata and the usage attributes the
 * usage readers keep on them. Other kinds of the table have their own modules: provider settings
 * (`shared/settings/store.ts`), active pointers (`active.ts`), the round-robin cursor
 * (`shared/usage/cursor.ts`), the refresh lease (`shared/oauth/lease.ts`); `state.ts` reads a
 * whole provider partition at once.
 */

const table = (): string => config().tableName;

const ACCOUNT_FIELDS = [
  'id',
  'provider',
  'kind',
  'label',
  'email',
  'owner',
  'roundRobin',
  'status',
  'keyHint',
  'endpoint',
  'effort',
  'tokenExpiresAt',
  'lastRefreshAt',
  'lastError',
  'cooldownUntil',
  'secretName',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof Account)[];

/** Decodes a stored account item (the usage attributes only when present). */
export function accountFromItem(item: Record<string, unknown>): Account {
  const account: Record<string, unknown> = {};
  for (const field of ACCOUNT_FIELDS) account[field] = item[field] ?? null;
  account.roundRobin = item.roundRobin === true;
  // Written by the usage readers and the proxy's reports, not by account creation: absent until then.
  if (item.lastUsedAt !== undefined) account.lastUsedAt = typeof item.lastUsedAt === 'string' ? item.lastUsedAt : null;
  if (item.usage !== undefined) account.usage = usageView(item.usage);
  if (typeof item.usageNextReadAt === 'string') account.usageNextReadAt = item.usageNextReadAt;
  return account as unknown as Account;
}

/** Creation order, ties broken by id: the round-robin pool order. */
export function byCreation(a: Account, b: Account): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Stores a new account; fails with {@link ConditionFailedError} if the id is taken. */
export async function putNewAccount(account: Account): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: { ...accountKey(account.provider, account.id), type: 'account', ...account },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
}

export async function getAccount(provider: ProviderId, accountId: string): Promise<Account | undefined> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: table(), Key: accountKey(provider, accountId), ConsistentRead: true }),
    ),
  );
  return out.Item ? accountFromItem(out.Item) : undefined;
}

/** Like {@link getAccount}, or `not_found`. */
export async function requireAccount(provider: ProviderId, accountId: string): Promise<Account> {
  const account = await getAccount(provider, accountId);
  if (!account) throw new NotFoundError(`No ${provider} account with id "${accountId}".`);
  return account;
}

export type AccountChanges = Partial<
  Pick<
    Account,
    | 'label'
    | 'email'
    | 'roundRobin'
    | 'status'
    | 'keyHint'
    | 'endpoint'
    | 'effort'
    | 'tokenExpiresAt'
    | 'lastRefreshAt'
    | 'lastError'
    | 'cooldownUntil'
  >
>;

/** A change to one account: what to set, and extra conditions the write must meet. */
export interface AccountUpdate extends AccountRef {
  changes: AccountChanges;
  conditions?: Condition[];
}

/**
 * Applies `changes` to an existing account and returns it as stored. `not_found` if the account
 * is gone; extra `conditions` that fail surface as {@link ConditionFailedError}.
 */
export async function updateAccount({
  provider,
  accountId,
  changes,
  conditions = [],
}: AccountUpdate): Promise<Account> {
  const parts = buildUpdate(
    { ...changes, updatedAt: new Date().toISOString() },
    { conditions: [itemExists, ...conditions] },
  );
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: accountKey(provider, accountId),
          ...parts,
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return accountFromItem(out.Attributes ?? {});
  } catch (error) {
    if (error instanceof ConditionFailedError && conditions.length === 0) {
      throw new NotFoundError(`No ${provider} account with id "${accountId}".`);
    }
    throw error;
  }
}

/**
 * Stores a usage read's attributes ({@link UsageAttributes}: `usage` when it changed, the next read
 * time, the last failure phrase) and nothing else: no `updatedAt`, no lease, so it can never race a
 * refresh's writes. `not_found` when the account was removed meanwhile.
 */
export async function storeUsage(provider: ProviderId, accountId: string, attributes: UsageAttributes): Promise<void> {
  const parts = buildUpdate(
    { usage: attributes.usage, usageNextReadAt: attributes.usageNextReadAt, usageError: attributes.usageError },
    { conditions: [itemExists] },
  );
  try {
    await dynamo(() =>
      documentClient().send(new UpdateCommand({ TableName: table(), Key: accountKey(provider, accountId), ...parts })),
    );
  } catch (error) {
    if (error instanceof ConditionFailedError)
      throw new NotFoundError(`No ${provider} account with id "${accountId}".`);
    throw error;
  }
}

/** Deletes the account item; returns what was deleted, or undefined if it was already gone. */
export async function deleteAccount(provider: ProviderId, accountId: string): Promise<Account | undefined> {
  const out = await dynamo(() =>
    documentClient().send(
      new DeleteCommand({ TableName: table(), Key: accountKey(provider, accountId), ReturnValues: 'ALL_OLD' }),
    ),
  );
  return out.Attributes ? accountFromItem(out.Attributes) : undefined;
}

/** Requests and tokens a launch used since its previous report. */
export interface UsedDelta {
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Adds what the launch used since its previous report to the account's running totals
 * (`usedRequests`, `usedInputTokens`, `usedOutputTokens`) and sets `lastUsedAt` when it made
 * requests. An account removed meanwhile is left alone.
 */
export async function addAccountUsage({
  provider,
  accountId,
  delta,
  now,
}: AccountRef & { delta: UsedDelta; now: number }): Promise<void> {
  if (delta.requests === 0 && delta.inputTokens === 0 && delta.outputTokens === 0) return;
  const used = delta.requests > 0 ? ' SET #lastUsedAt = :now' : '';
  await conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: accountKey(provider, accountId),
        UpdateExpression: `ADD #requests :requests, #input :input, #output :output${used}`,
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#requests': 'usedRequests',
          '#input': 'usedInputTokens',
          '#output': 'usedOutputTokens',
          ...(used ? { '#lastUsedAt': 'lastUsedAt' } : {}),
        },
        ExpressionAttributeValues: {
          ':requests': delta.requests,
          ':input': delta.inputTokens,
          ':output': delta.outputTokens,
          ...(used ? { ':now': new Date(now).toISOString() } : {}),
        },
      }),
    ),
  );
}

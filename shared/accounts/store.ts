import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Account } from '#shared/accounts/model.ts';
import { defaultProviderSettings, type ProviderSettings } from '#shared/accounts/settings.ts';
import { config } from '#shared/config.ts';
import { ConditionFailedError, NotFoundError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import {
  ACCOUNT_PREFIX,
  ACTIVE_PREFIX,
  accountKey,
  cursorKey,
  type Key,
  personalActiveKey,
  providerPartition,
  providerSettingsKey,
} from '#shared/store/keys.ts';
import { queryPartition } from '#shared/store/query.ts';
import { buildUpdate, type Condition, itemExists } from '#shared/store/update.ts';
import { type UsageAttributes, usageView } from '#shared/usage/account.ts';

const table = (): string => config().tableName;

/** Everything in a provider's partition, read with one (paginated) Query. */
export interface ProviderState {
  settings: ProviderSettings;
  accounts: Account[];
  /** ownerId → that member's own active account id. */
  personalActive: Map<string, string>;
  cursor: number;
}

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

function toAccount(item: Record<string, unknown>): Account {
  const account: Record<string, unknown> = {};
  for (const field of ACCOUNT_FIELDS) account[field] = item[field] ?? null;
  account.roundRobin = item.roundRobin === true;
  // Written by the usage readers and the proxy's reports, not by account creation: absent until then.
  if (item.lastUsedAt !== undefined) account.lastUsedAt = typeof item.lastUsedAt === 'string' ? item.lastUsedAt : null;
  if (item.usage !== undefined) account.usage = usageView(item.usage);
  if (typeof item.usageNextReadAt === 'string') account.usageNextReadAt = item.usageNextReadAt;
  return account as unknown as Account;
}

function toSettings(item: Record<string, unknown> | undefined): ProviderSettings {
  const defaults = defaultProviderSettings();
  if (!item) return defaults;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    activeAccountId: str(item.activeAccountId),
    model: str(item.model),
    keepalive: {
      enabled: typeof item.keepaliveEnabled === 'boolean' ? item.keepaliveEnabled : defaults.keepalive.enabled,
      intervalHours:
        typeof item.keepaliveIntervalHours === 'number'
          ? item.keepaliveIntervalHours
          : defaults.keepalive.intervalHours,
      lastRefreshAt: str(item.keepaliveLastRefreshAt),
      nextRefreshAt: str(item.keepaliveNextRefreshAt),
      lastResult:
        item.keepaliveLastResult === 'ok' || item.keepaliveLastResult === 'failed' ? item.keepaliveLastResult : null,
    },
    pool: {
      skipAbovePercent:
        typeof item.poolSkipAbovePercent === 'number' ? item.poolSkipAbovePercent : defaults.pool.skipAbovePercent,
    },
  };
}

/** Reads the whole provider partition: settings, accounts, personal pointers, cursor. */
export async function loadProviderState(provider: ProviderId): Promise<ProviderState> {
  const state: ProviderState = {
    settings: defaultProviderSettings(),
    accounts: [],
    personalActive: new Map(),
    cursor: 0,
  };
  for (const item of await queryPartition(providerPartition(provider))) {
    const sk = String(item.sk);
    if (sk.startsWith(ACCOUNT_PREFIX)) state.accounts.push(toAccount(item));
    else if (sk === 'SETTINGS') state.settings = toSettings(item);
    else if (sk === 'CURSOR') state.cursor = Number(item.cursor ?? 0);
    else if (sk.startsWith(ACTIVE_PREFIX) && typeof item.accountId === 'string') {
      state.personalActive.set(sk.slice(ACTIVE_PREFIX.length), item.accountId);
    }
  }
  state.accounts.sort(byCreation);
  return state;
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
  return out.Item ? toAccount(out.Item) : undefined;
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

/**
 * Applies `changes` to an existing account and returns it as stored. `not_found` if the account
 * is gone; extra `conditions` that fail surface as {@link ConditionFailedError}.
 */
export async function updateAccount(
  provider: ProviderId,
  accountId: string,
  changes: AccountChanges,
  conditions: Condition[] = [],
): Promise<Account> {
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
    return toAccount(out.Attributes ?? {});
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
  return out.Attributes ? toAccount(out.Attributes) : undefined;
}

export async function getProviderSettings(provider: ProviderId): Promise<ProviderSettings> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: table(), Key: providerSettingsKey(provider), ConsistentRead: true }),
    ),
  );
  return toSettings(out.Item);
}

export interface SettingsChanges {
  model?: string | null;
  keepalive?: Partial<ProviderSettings['keepalive']>;
  pool?: Partial<ProviderSettings['pool']>;
}

export async function updateProviderSettings(
  provider: ProviderId,
  changes: SettingsChanges,
): Promise<ProviderSettings> {
  const k = changes.keepalive ?? {};
  const parts = buildUpdate({
    model: changes.model,
    keepaliveEnabled: k.enabled,
    keepaliveIntervalHours: k.intervalHours,
    keepaliveLastRefreshAt: k.lastRefreshAt,
    keepaliveNextRefreshAt: k.nextRefreshAt,
    keepaliveLastResult: k.lastResult,
    poolSkipAbovePercent: changes.pool?.skipAbovePercent,
    updatedAt: new Date().toISOString(),
  });
  const out = await dynamo(() =>
    documentClient().send(
      new UpdateCommand({ TableName: table(), Key: providerSettingsKey(provider), ...parts, ReturnValues: 'ALL_NEW' }),
    ),
  );
  return toSettings(out.Attributes);
}

/** Sends a conditional update; false when the condition did not hold (nothing changed). */
function conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
  return conditional(() => documentClient().send(new UpdateCommand({ TableName: table(), ...input })));
}

function activeKeyFor(provider: ProviderId, owner: string | null): Key {
  return owner === null ? providerSettingsKey(provider) : personalActiveKey(provider, owner);
}

function activeAttribute(owner: string | null): string {
  return owner === null ? 'activeAccountId' : 'accountId';
}

/**
 * Points the provider's active account (or a member's own, when `owner` is set) at `accountId`,
 * or clears it with null. With `onlyIf`, the change happens only while the pointer still names
 * that account (used when an account is removed). Returns whether the pointer changed.
 */
export async function setActiveAccount(
  provider: ProviderId,
  owner: string | null,
  accountId: string | null,
  onlyIf?: string,
): Promise<boolean> {
  const attribute = activeAttribute(owner);
  const conditions: Condition[] =
    onlyIf === undefined
      ? []
      : [{ expression: '#cur = :cur', names: { '#cur': attribute }, values: { ':cur': onlyIf } }];
  const parts = buildUpdate({ [attribute]: accountId, updatedAt: new Date().toISOString() }, { conditions });
  return conditionalUpdate({ Key: activeKeyFor(provider, owner), ...parts });
}

/**
 * Advances the provider's round-robin cursor atomically (`ADD cursor :1`) and returns the new
 * value (1 on first use). One item absorbs roughly 1,000 launches a second per provider.
 */
export async function nextCursor(provider: ProviderId): Promise<number> {
  const out = await dynamo(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: cursorKey(provider),
        UpdateExpression: 'ADD #cursor :one',
        ExpressionAttributeNames: { '#cursor': 'cursor' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    ),
  );
  return Number(out.Attributes?.cursor);
}

/** The refresh lease on an account item (see `shared/oauth/refresh.ts`). */
export interface LeaseState {
  leaseUntil: number | null;
  leaseOwner: string | null;
  lastRefreshAt: string | null;
  status: Account['status'] | null;
  exists: boolean;
}

export async function readLease(provider: ProviderId, accountId: string): Promise<LeaseState> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({
        TableName: table(),
        Key: accountKey(provider, accountId),
        ConsistentRead: true,
        ProjectionExpression: 'leaseUntil, leaseOwner, lastRefreshAt, #s',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    ),
  );
  const item = out.Item;
  return {
    exists: item !== undefined,
    leaseUntil: typeof item?.leaseUntil === 'number' ? item.leaseUntil : null,
    leaseOwner: typeof item?.leaseOwner === 'string' ? item.leaseOwner : null,
    lastRefreshAt: typeof item?.lastRefreshAt === 'string' ? item.lastRefreshAt : null,
    status: (item?.status as Account['status'] | undefined) ?? null,
  };
}

/**
 * Takes the refresh lease: succeeds only if no lease is held or the holder's has run out.
 *
 *   now ──────────────► now + durationMs
 *   [ this caller may refresh ]  after that, anyone may take over (the holder crashed)
 */
export async function acquireLease(
  provider: ProviderId,
  accountId: string,
  owner: string,
  durationMs: number,
  now = Date.now(),
): Promise<boolean> {
  return conditionalUpdate({
    Key: accountKey(provider, accountId),
    UpdateExpression: 'SET leaseUntil = :until, leaseOwner = :owner',
    ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
    ExpressionAttributeNames: { '#pk': 'pk' },
    ExpressionAttributeValues: { ':until': now + durationMs, ':owner': owner, ':now': now },
  });
}

/** Gives the lease back, if this owner still holds it. */
export async function releaseLease(provider: ProviderId, accountId: string, owner: string): Promise<void> {
  await conditionalUpdate({
    Key: accountKey(provider, accountId),
    UpdateExpression: 'REMOVE leaseUntil, leaseOwner',
    ConditionExpression: 'leaseOwner = :owner',
    ExpressionAttributeValues: { ':owner': owner },
  });
}

/**
 * Makes `accountId` the active account of its scope if the scope has none yet (the first account
 * of a provider becomes active).
 */
export async function setActiveIfNone(provider: ProviderId, owner: string | null, accountId: string): Promise<boolean> {
  return conditionalUpdate({
    Key: activeKeyFor(provider, owner),
    UpdateExpression: 'SET #a = :id, updatedAt = :now',
    ConditionExpression: 'attribute_not_exists(#a) OR #a = :null',
    ExpressionAttributeNames: { '#a': activeAttribute(owner) },
    ExpressionAttributeValues: { ':id': accountId, ':now': new Date().toISOString(), ':null': null },
  });
}

/** The active account id of a scope (the team's, or one member's own). */
export async function getActiveAccountId(provider: ProviderId, owner: string | null): Promise<string | null> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: table(), Key: activeKeyFor(provider, owner), ConsistentRead: true }),
    ),
  );
  const value = out.Item?.[activeAttribute(owner)];
  return typeof value === 'string' ? value : null;
}

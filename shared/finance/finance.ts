import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { FINANCE_PARTITION, financeKey } from '#shared/store/keys.ts';
import { queryPartition } from '#shared/store/query.ts';
import { buildUpdate } from '#shared/store/update.ts';

export type Billing = 'subscription' | 'usage' | 'none';

/** API.md finance record: how a provider is paid for, for the finance team. */
export interface FinanceRecord {
  provider: ProviderId;
  billing: Billing;
  status: 'incomplete' | 'complete';
  plan?: string;
  monthlyBudgetUsd?: number;
  costCenter?: string;
  owner?: string;
}

const FIELDS = ['provider', 'billing', 'status', 'plan', 'monthlyBudgetUsd', 'costCenter', 'owner'] as const;

function toRecord(item: Record<string, unknown>): FinanceRecord {
  const record: Record<string, unknown> = {};
  for (const field of FIELDS) if (item[field] !== undefined && item[field] !== null) record[field] = item[field];
  return record as unknown as FinanceRecord;
}

/** Creates the record the first time a provider gets an account; later calls change nothing. */
export function seedFinanceRecord(provider: ProviderId, billing: Billing): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new PutCommand({
        TableName: config().tableName,
        Item: { ...financeKey(provider), type: 'finance', provider, billing, status: 'incomplete' },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
}

export async function listFinanceRecords(): Promise<FinanceRecord[]> {
  return (await queryPartition(FINANCE_PARTITION)).map(toRecord);
}

export type FinanceChanges = Partial<Omit<FinanceRecord, 'provider'>>;
type FinancePatch = { [K in keyof FinanceChanges]?: FinanceChanges[K] | null };

/** The provider's record, or undefined before it has one. */
export async function getFinanceRecord(provider: ProviderId): Promise<FinanceRecord | undefined> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: financeKey(provider), ConsistentRead: true }),
    ),
  );
  return out.Item ? toRecord(out.Item) : undefined;
}

/** The part of `changes` that differs from `record` (`null` differs only from a set field). */
export function financeChanges(record: FinanceRecord | undefined, changes: FinancePatch): FinancePatch {
  const differs: FinancePatch = {};
  for (const [field, value] of Object.entries(changes) as [keyof FinancePatch, unknown][]) {
    if (value === undefined) continue;
    const stored = record?.[field];
    if (record === undefined || (value === null ? stored !== undefined : value !== stored)) {
      (differs as Record<string, unknown>)[field] = value;
    }
  }
  return differs;
}

/** Partial update; `null` clears an optional field. A provider without a record gets one. */
export async function updateFinanceRecord(provider: ProviderId, changes: FinancePatch): Promise<FinanceRecord> {
  const set: Record<string, unknown> = { provider, type: 'finance' };
  const remove: string[] = [];
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) remove.push(field);
    else if (value !== undefined) set[field] = value;
  }
  const parts = buildUpdate(set, { remove });
  // A new record starts as `none` / `incomplete` unless the change says otherwise.
  const defaults: string[] = [];
  if (changes.billing === undefined) defaults.push('#billing = if_not_exists(#billing, :none)');
  if (changes.status === undefined) defaults.push('#status = if_not_exists(#status, :incomplete)');
  const expression = defaults.length
    ? parts.UpdateExpression.startsWith('SET ')
      ? `SET ${defaults.join(', ')}, ${parts.UpdateExpression.slice(4)}`
      : `SET ${defaults.join(', ')} ${parts.UpdateExpression}`
    : parts.UpdateExpression;
  const out = await dynamo(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: financeKey(provider),
        UpdateExpression: expression,
        ExpressionAttributeNames: {
          ...parts.ExpressionAttributeNames,
          ...(changes.billing === undefined ? { '#billing': 'billing' } : {}),
          ...(changes.status === undefined ? { '#status': 'status' } : {}),
        },
        ExpressionAttributeValues: {
          ...parts.ExpressionAttributeValues,
          ...(changes.billing === undefined ? { ':none': 'none' } : {}),
          ...(changes.status === undefined ? { ':incomplete': 'incomplete' } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return toRecord(out.Attributes ?? {});
}

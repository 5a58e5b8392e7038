import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { config } from '#shared/config.ts';
import { effortLevel, modelId } from '#shared/http/schemas.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { environmentKey, preferencesKey } from '#shared/store/keys.ts';

/** Per-provider launch choices shared by user preferences and environments. */
const choice = z.strictObject({ model: modelId.optional(), effort: effortLevel.optional() });

export const preferencesBody = z.strictObject({
  providers: z.partialRecord(
    z.enum(PROVIDER_IDS),
    choice.extend({
      preferredAccountId: z
        .string()
        .regex(/^acc_[a-f0-9]{20}$/, 'must be an account id')
        .optional(),
    }),
  ),
});
export type Preferences = z.infer<typeof preferencesBody>;

export const environmentBody = z.strictObject({
  agent: z.enum(PROVIDER_IDS).optional(),
  delivery: z.literal('ticket').optional(),
  providers: z.partialRecord(z.enum(PROVIDER_IDS), choice).default({}),
});
export type Environment = z.infer<typeof environmentBody> & { name: string };

export const environmentName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lowercase letters, digits, _ or -');

export async function getPreferences(callerId: string): Promise<Preferences> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: preferencesKey(callerId), ConsistentRead: true }),
    ),
  );
  return { providers: (out.Item?.providers as Preferences['providers']) ?? {} };
}

export async function putPreferences(callerId: string, preferences: Preferences): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: config().tableName,
        Item: { ...preferencesKey(callerId), type: 'preferences', ...preferences, updatedAt: new Date().toISOString() },
      }),
    ),
  );
}

export async function getEnvironment(name: string): Promise<Environment | undefined> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: environmentKey(name), ConsistentRead: true }),
    ),
  );
  if (!out.Item) return undefined;
  const { agent, delivery, providers } = out.Item as Partial<Environment>;
  return { name, ...(agent ? { agent } : {}), ...(delivery ? { delivery } : {}), providers: providers ?? {} };
}

export async function putEnvironment(environment: Environment): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: config().tableName,
        Item: {
          ...environmentKey(environment.name),
          type: 'environment',
          ...environment,
          updatedAt: new Date().toISOString(),
        },
      }),
    ),
  );
}

/** The user's and the environment's choice for one provider. */
export function choiceFor(
  source: { providers: Partial<Record<ProviderId, { model?: string; effort?: string }>> } | undefined,
  provider: ProviderId,
) {
  return source?.providers[provider] ?? {};
}

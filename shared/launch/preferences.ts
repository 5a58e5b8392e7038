import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { config } from '#shared/config.ts';
import { ACCOUNT_ID, effortLevel, modelId } from '#shared/http/schemas.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { preferencesKey } from '#shared/store/keys.ts';

/**
 * A member's launch preferences, `USER#<caller>` / `PREFERENCES`: per provider, the model, effort
 * and account their launches prefer. Environments (`environments.ts`) share the choice schema.
 */

/** Per-provider launch choices shared by user preferences and environments. */
export const launchChoice = z.strictObject({ model: z.optional(modelId), effort: z.optional(effortLevel) });

export const preferencesBody = z.strictObject({
  providers: z.partialRecord(
    z.enum(PROVIDER_IDS),
    z.extend(launchChoice, {
      preferredAccountId: z.optional(z.string().check(z.regex(ACCOUNT_ID, 'must be an account id'))),
    }),
  ),
});
export type Preferences = z.infer<typeof preferencesBody>;

/** The preferences a stored item holds (none when there is no item). */
export function preferencesOf(item: Record<string, unknown> | undefined): Preferences {
  return { providers: (item?.providers as Preferences['providers']) ?? {} };
}

/** The caller's saved preferences, read consistently; empty when none were saved. */
export async function getPreferences(callerId: string): Promise<Preferences> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: preferencesKey(callerId), ConsistentRead: true }),
    ),
  );
  return preferencesOf(out.Item);
}

/** Replaces the caller's preferences. */
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

/** The user's and the environment's choice for one provider. */
export function choiceFor(
  source: { providers: Partial<Record<ProviderId, { model?: string; effort?: string }>> } | undefined,
  provider: ProviderId,
) {
  return source?.providers[provider] ?? {};
}

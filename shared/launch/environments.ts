import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { config } from '#shared/config.ts';
import { launchChoice, type Preferences, preferencesOf } from '#shared/launch/preferences.ts';
import { PROVIDER_IDS } from '#shared/providers/types.ts';
import { getAll } from '#shared/store/batch.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { preferencesKey } from '#shared/store/keys.ts';
import { queryPartition } from '#shared/store/query.ts';

export const environmentBody = z.strictObject({
  agent: z.optional(z.enum(PROVIDER_IDS)),
  /** Launches in this environment use this delivery unless they name their own. */
  delivery: z.optional(z.enum(['ticket', 'proxy'])),
  providers: z._default(z.partialRecord(z.enum(PROVIDER_IDS), launchChoice), {}),
});
export type Environment = z.infer<typeof environmentBody> & { name: string };

export const environmentName = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lowercase letters, digits, _ or -'));

/**
 * Environments share one partition, sorted by name, so listing them is one Query:
 * `ENVIRONMENTS` / `<name>`. (Builds before the list route kept each at `ENV#<name>` / `ENV`;
 * those are no longer read.)
 */
export const ENVIRONMENTS_PARTITION = 'ENVIRONMENTS';
const environmentKey = (name: string) => ({ pk: ENVIRONMENTS_PARTITION, sk: name });
/** The environment launches use when they name none; it exists (empty) until it is saved. */
export const DEFAULT_ENVIRONMENT = 'default';

function environmentOf(item: Record<string, unknown>, name: string): Environment {
  const { agent, delivery, providers } = item as Partial<Environment>;
  return { name, ...(agent ? { agent } : {}), ...(delivery ? { delivery } : {}), providers: providers ?? {} };
}

/** The saved environment; `default` is answered (empty) even before it was saved. */
export async function getEnvironment(name: string): Promise<Environment | undefined> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: environmentKey(name), ConsistentRead: true }),
    ),
  );
  if (!out.Item) return name === DEFAULT_ENVIRONMENT ? { name, providers: {} } : undefined;
  return environmentOf(out.Item, name);
}

/**
 * What a launch reads besides the provider's partition: the named environment (undefined when it
 * does not exist; `default` always does) and the caller's preferences, with one BatchGetItem
 * (a read across two item kinds on purpose).
 */
export async function readLaunchSettings(
  callerId: string,
  environmentName: string,
): Promise<{ environment: Environment | undefined; preferences: Preferences }> {
  const [prefs, env] = await getAll([preferencesKey(callerId), environmentKey(environmentName)]);
  const environment = env
    ? environmentOf(env, environmentName)
    : environmentName === DEFAULT_ENVIRONMENT
      ? { name: environmentName, providers: {} }
      : undefined;
  return { environment, preferences: preferencesOf(prefs) };
}

/** Every environment by name, `default` included whether or not it was saved. */
export async function listEnvironments(): Promise<Environment[]> {
  const found = (await queryPartition(ENVIRONMENTS_PARTITION)).map((item) => environmentOf(item, String(item.sk)));
  if (!found.some((e) => e.name === DEFAULT_ENVIRONMENT)) found.push({ name: DEFAULT_ENVIRONMENT, providers: {} });
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Saves the environment, replacing any saved under its name. */
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

/** Deletes a saved environment; false when there was none. Deleting `default` resets it. */
export async function deleteEnvironment(name: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new DeleteCommand({
        TableName: config().tableName,
        Key: environmentKey(name),
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
}

import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { config } from '#shared/config.ts';
import { modelId } from '#shared/http/schemas.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';
import { type KeepaliveSettings, type ProviderSettings, SKIP_ABOVE_PERCENT_RANGE } from '#shared/settings/provider.ts';
import { getProviderSettings, updateProviderSettings } from '#shared/settings/store.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { serverSettingsKey } from '#shared/store/keys.ts';

/** API.md "Server settings". */
export interface ServerSettings {
  defaultAgent: ProviderId;
  models: Record<ProviderId, string | null>;
  keepalive: Record<ProviderId, KeepaliveSettings>;
  pool: Record<ProviderId, ProviderSettings['pool']>;
}

const provider = z.enum(PROVIDER_IDS);

/** A PATCH body: every part optional, unknown keys refused, interval a whole number of hours 1–24. */
export const settingsPatch = z
  .strictObject({
    defaultAgent: z.optional(provider),
    models: z.optional(z.partialRecord(provider, z.nullable(modelId))),
    keepalive: z.optional(
      z.partialRecord(
        provider,
        z.strictObject({
          enabled: z.optional(z.boolean()),
          intervalHours: z.optional(z.number().check(z.int('must be a whole number of hours'), z.gte(1), z.lte(24))),
        }),
      ),
    ),
    pool: z.optional(
      z.partialRecord(
        provider,
        z.strictObject({
          skipAbovePercent: z
            .number()
            .check(
              z.gte(SKIP_ABOVE_PERCENT_RANGE.min, 'must be 1–100'),
              z.lte(SKIP_ABOVE_PERCENT_RANGE.max, 'must be 1–100'),
            ),
        }),
      ),
    ),
  })
  .check(z.refine((b) => Object.values(b).some((v) => v !== undefined), 'must change at least one setting'));
export type SettingsPatch = z.infer<typeof settingsPatch>;

async function defaultAgent(): Promise<ProviderId> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: serverSettingsKey(), ConsistentRead: true }),
    ),
  );
  const value = out.Item?.defaultAgent;
  return typeof value === 'string' && (PROVIDER_IDS as readonly string[]).includes(value)
    ? (value as ProviderId)
    : 'claude';
}

export async function readSettings(): Promise<ServerSettings> {
  const all = await Promise.all(PROVIDER_IDS.map(async (id) => [id, await getProviderSettings(id)] as const));
  return {
    defaultAgent: await defaultAgent(),
    models: Object.fromEntries(all.map(([id, s]) => [id, s.model])) as Record<ProviderId, string | null>,
    keepalive: Object.fromEntries(all.map(([id, s]) => [id, s.keepalive])) as Record<ProviderId, KeepaliveSettings>,
    pool: Object.fromEntries(all.map(([id, s]) => [id, s.pool])) as ServerSettings['pool'],
  };
}

/**
 * The part of `patch` that differs from `current`, or null when it changes nothing. Keep-alive
 * fields are compared one by one, so `{enabled: true}` on an enabled provider is no change.
 */
export function settingsChanges(current: ServerSettings, patch: SettingsPatch): SettingsPatch | null {
  const changes: SettingsPatch = {};
  if (patch.defaultAgent !== undefined && patch.defaultAgent !== current.defaultAgent) {
    changes.defaultAgent = patch.defaultAgent;
  }
  for (const id of PROVIDER_IDS) {
    const model = patch.models?.[id];
    if (model !== undefined && model !== current.models[id]) changes.models = { ...changes.models, [id]: model };
    const skip = patch.pool?.[id]?.skipAbovePercent;
    if (skip !== undefined && skip !== current.pool[id].skipAbovePercent) {
      changes.pool = { ...changes.pool, [id]: { skipAbovePercent: skip } };
    }
    const wanted = patch.keepalive?.[id] ?? {};
    const differs = Object.fromEntries(
      Object.entries(wanted).filter(
        ([k, v]) => v !== undefined && v !== current.keepalive[id][k as keyof typeof wanted],
      ),
    );
    if (Object.keys(differs).length > 0) changes.keepalive = { ...changes.keepalive, [id]: differs };
  }
  return Object.keys(changes).length > 0 ? changes : null;
}

/**
 * Applies an already validated patch, writing only what differs from the stored settings.
 * Returns the settings after it and what changed (null: nothing, and nothing was written).
 */
export async function applySettings(
  patch: SettingsPatch,
): Promise<{ settings: ServerSettings; changed: SettingsPatch | null }> {
  const current = await readSettings();
  const changed = settingsChanges(current, patch);
  if (!changed) return { settings: current, changed: null };
  if (changed.defaultAgent) {
    await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: config().tableName,
          Key: serverSettingsKey(),
          UpdateExpression: 'SET defaultAgent = :a, updatedAt = :now',
          ExpressionAttributeValues: { ':a': changed.defaultAgent, ':now': new Date().toISOString() },
        }),
      ),
    );
  }
  for (const id of PROVIDER_IDS) {
    const modelChange = changed.models?.[id];
    const keepalive = changed.keepalive?.[id];
    const pool = changed.pool?.[id];
    if (modelChange === undefined && !keepalive && !pool) continue;
    await updateProviderSettings(id, {
      ...(modelChange !== undefined ? { model: modelChange } : {}),
      ...(keepalive ? { keepalive } : {}),
      ...(pool ? { pool } : {}),
    });
  }
  return { settings: await readSettings(), changed };
}

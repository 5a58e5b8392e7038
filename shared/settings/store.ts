import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { defaultProviderSettings, type ProviderSettings } from '#shared/settings/provider.ts';
import { documentClient, dynamo } from '#shared/store/dynamo.ts';
import { providerSettingsKey } from '#shared/store/keys.ts';
import { buildUpdate } from '#shared/store/update.ts';

/**
 * The provider settings item (`PROVIDER#<provider>` / `SETTINGS`): model, keep-alive and pool
 * settings. The team's active-account pointer is an attribute of this item too; it is read here
 * with the rest, and written only by `shared/accounts/active.ts`.
 */

/** Decodes a stored settings item; a missing item or attribute reads as its default. */
export function settingsFromItem(item: Record<string, unknown> | undefined): ProviderSettings {
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

/** A provider's settings, read consistently (defaults when nothing is stored). */
export async function getProviderSettings(provider: ProviderId): Promise<ProviderSettings> {
  const out = await dynamo(() =>
    documentClient().send(
      new GetCommand({ TableName: config().tableName, Key: providerSettingsKey(provider), ConsistentRead: true }),
    ),
  );
  return settingsFromItem(out.Item);
}

/** The settings a write may change; what is absent stays as stored. */
export interface SettingsChanges {
  model?: string | null;
  keepalive?: Partial<ProviderSettings['keepalive']>;
  pool?: Partial<ProviderSettings['pool']>;
}

/** Writes `changes` to the provider's settings item (creating it) and returns the settings after it. */
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
      new UpdateCommand({
        TableName: config().tableName,
        Key: providerSettingsKey(provider),
        ...parts,
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return settingsFromItem(out.Attributes);
}

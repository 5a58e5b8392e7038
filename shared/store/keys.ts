import type { ProviderId } from '#shared/providers/types.ts';

/**
 * Key builders for the single table. One partition per provider holds its accounts, settings,
 * round-robin cursor and members' personal active-account pointers, so a provider view is one Query.
 *
 *   pk                      sk
 *   PROVIDER#<provider>     ACCOUNT#<accountId>     account metadata (no secrets)
 *   PROVIDER#<provider>     SETTINGS                active account, model, keep-alive
 *   PROVIDER#<provider>     CURSOR                  round-robin counter (ADD)
 *   PROVIDER#<provider>     ACTIVE#<ownerId>        a member's own active account
 *   SERVER                  SETTINGS                server-wide settings (default agent)
 */
export interface Key {
  pk: string;
  sk: string;
}

export const providerPartition = (provider: ProviderId): string => `PROVIDER#${provider}`;
export const ACCOUNT_PREFIX = 'ACCOUNT#';

export const accountKey = (provider: ProviderId, accountId: string): Key => ({
  pk: providerPartition(provider),
  sk: `${ACCOUNT_PREFIX}${accountId}`,
});
export const providerSettingsKey = (provider: ProviderId): Key => ({ pk: providerPartition(provider), sk: 'SETTINGS' });
export const cursorKey = (provider: ProviderId): Key => ({ pk: providerPartition(provider), sk: 'CURSOR' });
export const ACTIVE_PREFIX = 'ACTIVE#';
export const personalActiveKey = (provider: ProviderId, ownerId: string): Key => ({
  pk: providerPartition(provider),
  sk: `${ACTIVE_PREFIX}${ownerId}`,
});
export const serverSettingsKey = (): Key => ({ pk: 'SERVER', sk: 'SETTINGS' });

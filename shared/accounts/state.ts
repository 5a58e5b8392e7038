import { personalPointerOf } from '#shared/accounts/active.ts';
import type { Account } from '#shared/accounts/model.ts';
import { accountFromItem, byCreation } from '#shared/accounts/store.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { defaultProviderSettings, type ProviderSettings } from '#shared/settings/provider.ts';
import { settingsFromItem } from '#shared/settings/store.ts';
import { ACCOUNT_PREFIX, providerPartition } from '#shared/store/keys.ts';
import { queryPartition } from '#shared/store/query.ts';

/**
 * The one read that spans item kinds. Launch resolution, the provider views, the helpers and the
 * sweep each need a provider's accounts, settings and pointers together, and one Query of the
 * provider partition returns them all for the price of one call; each item is decoded by its own
 * kind's module (accounts, settings, pointers), so this file knows the partition's layout only.
 * It lives with the accounts because they are what every caller reads it for.
 */

/** What a provider's partition holds that its readers use. */
export interface ProviderState {
  settings: ProviderSettings;
  /** In creation order ({@link byCreation}): the round-robin pool order. */
  accounts: Account[];
  /** ownerId → that member's own active account id. */
  personalActive: Map<string, string>;
}

/** Reads the whole provider partition (settings, accounts, personal pointers) with one paginated Query. */
export async function loadProviderState(provider: ProviderId): Promise<ProviderState> {
  const state: ProviderState = { settings: defaultProviderSettings(), accounts: [], personalActive: new Map() };
  for (const item of await queryPartition(providerPartition(provider))) {
    const sk = String(item.sk);
    const pointer = personalPointerOf(item);
    if (sk.startsWith(ACCOUNT_PREFIX)) state.accounts.push(accountFromItem(item));
    else if (sk === 'SETTINGS') state.settings = settingsFromItem(item);
    else if (pointer) state.personalActive.set(...pointer);
    // The round-robin cursor item is skipped: only its atomic step reads it (shared/usage/cursor.ts).
  }
  state.accounts.sort(byCreation);
  return state;
}

import { type Account, type AccountView, toAccountView } from '#shared/accounts/model.ts';
import type { ProviderState } from '#shared/accounts/state.ts';
import type { ProviderDefinition, ProviderId, SignInFlow } from '#shared/providers/types.ts';
import type { KeepaliveSettings } from '#shared/settings/provider.ts';

/** API.md "Provider". */
export interface ProviderView {
  id: ProviderId;
  name: string;
  signIn: SignInFlow;
  activeAccountId: string | null;
  roundRobinAccountIds: string[];
  model: string | null;
  helpers: boolean;
  keepalive: KeepaliveSettings;
  accounts: AccountView[];
}

/**
 * Which accounts a view shows: the server's own (team) accounts, one member's personal accounts,
 * or both (an admin's read-only look at everything).
 */
export type AccountScope = { kind: 'server' } | { kind: 'personal'; owner: string } | { kind: 'all' };

function inScope(account: Account, scope: AccountScope): boolean {
  if (scope.kind === 'all') return true;
  if (scope.kind === 'server') return account.owner === null;
  return account.owner === scope.owner;
}

export function providerView(definition: ProviderDefinition, state: ProviderState, scope: AccountScope): ProviderView {
  const personalOwner = scope.kind === 'personal' ? scope.owner : null;
  const activeAccountId =
    personalOwner === null ? state.settings.activeAccountId : (state.personalActive.get(personalOwner) ?? null);
  const accounts = state.accounts.filter((a) => inScope(a, scope));
  const isActive = (a: Account): boolean =>
    a.owner === null ? a.id === state.settings.activeAccountId : state.personalActive.get(a.owner) === a.id;
  const activeVisible = activeAccountId !== null && accounts.some((a) => a.id === activeAccountId);
  return {
    id: definition.id,
    name: definition.name,
    signIn: definition.signIn,
    activeAccountId: activeVisible ? activeAccountId : null,
    roundRobinAccountIds: accounts.filter((a) => a.owner === null && a.roundRobin).map((a) => a.id),
    model: state.settings.model,
    helpers: definition.helpers,
    keepalive: state.settings.keepalive,
    accounts: accounts.map((a) => toAccountView(a, isActive(a))),
  };
}

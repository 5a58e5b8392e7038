import { loadProviderState } from '#shared/accounts/store.ts';
import { type AccountScope, providerView } from '#shared/accounts/views.ts';
import type { ApiRequest, ApiResponse, Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { getProvider, listProviders } from '#shared/providers/index.ts';

/** Members see the team's accounts; admins also see members' personal accounts (read-only). */
function scopeFor(request: ApiRequest): AccountScope {
  return callerOf(request).role === 'admin' ? { kind: 'all' } : { kind: 'server' };
}

async function listProvidersRoute(request: ApiRequest): Promise<ApiResponse> {
  const scope = scopeFor(request);
  const providers = await Promise.all(
    listProviders().map(async (definition) => providerView(definition, await loadProviderState(definition.id), scope)),
  );
  return { status: 200, body: { providers } };
}

async function getProviderRoute(request: ApiRequest): Promise<ApiResponse> {
  const definition = getProvider(request.params.provider ?? '');
  const state = await loadProviderState(definition.id);
  return { status: 200, body: { provider: providerView(definition, state, scopeFor(request)) } };
}

/** Routes served by `functions/accounts.ts`. */
export const accountRoutes: Route[] = [
  { method: 'GET', path: '/v1/providers', access: 'member', handler: listProvidersRoute },
  { method: 'GET', path: '/v1/providers/{provider}', access: 'member', handler: getProviderRoute },
];

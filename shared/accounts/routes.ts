import * as z from 'zod/mini';
import { getActiveAccountId } from '#shared/accounts/active.ts';
import { type Account, toAccountView } from '#shared/accounts/model.ts';
import {
  activateAccount,
  createKeyAccount,
  type OAuthCheck,
  patchAccount,
  removeAccount,
  type Scope,
  testAccount,
} from '#shared/accounts/service.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { type AccountScope, providerView } from '#shared/accounts/views.ts';
import { NotFoundError } from '#shared/errors.ts';
import * as schemas from '#shared/http/schemas.ts';
import type { ApiRequest, ApiResponse, Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { getProvider, listProviders } from '#shared/providers/index.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';

/** Members see the team's accounts; admins also see members' personal accounts (read-only). */
function viewScope(request: ApiRequest): AccountScope {
  return callerOf(request).role === 'admin' ? { kind: 'all' } : { kind: 'server' };
}

/** Team routes act on server accounts; `/v1/me/…` routes on the caller's own. */
type Mode = 'team' | 'personal';
const scopeOf = (request: ApiRequest, mode: Mode): Scope => ({ owner: mode === 'team' ? null : callerOf(request).id });

function providerParam(request: ApiRequest): ProviderDefinition {
  return getProvider(request.params.provider ?? '');
}

/**
 * `not_found` for a value that is not an account id. It is not repeated: what callers paste by
 * mistake in place of an id is sometimes a token.
 */
function malformedAccountId(provider: ProviderDefinition): NotFoundError {
  return new NotFoundError(`No ${provider.id} account with that id (account ids are acc_ and 20 hex digits).`);
}

function accountParam(request: ApiRequest, provider: ProviderDefinition): string {
  const id = request.params.id ?? '';
  if (!schemas.accountIdParam.safeParse(id).success) throw malformedAccountId(provider);
  return id;
}

async function accountView(account: Account): Promise<ReturnType<typeof toAccountView>> {
  return toAccountView(
    account,
    (await getActiveAccountId({ provider: account.provider, owner: account.owner })) === account.id,
  );
}

async function providerResponse(definition: ProviderDefinition, scope: AccountScope): Promise<ApiResponse> {
  return { status: 200, body: { provider: providerView(definition, await loadProviderState(definition.id), scope) } };
}

const accountCreateBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('api_key'),
    label: schemas.label,
    apiKey: schemas.apiKey,
    endpoint: z.optional(schemas.endpoint),
  }),
  z.strictObject({ kind: z.literal('none'), label: schemas.label, endpoint: schemas.endpoint }),
]);
const accountPatchBody = z
  .strictObject({
    label: z.optional(schemas.label),
    roundRobin: z.optional(z.boolean()),
    endpoint: z.optional(z.nullable(schemas.endpoint)),
    effort: z.optional(z.nullable(schemas.effortLevel)),
    apiKey: z.optional(schemas.apiKey),
  })
  .check(
    z.refine(
      (b) => Object.values(b).some((v) => v !== undefined),
      'must change at least one of label, roundRobin, endpoint, effort, apiKey',
    ),
  );
const activeBody = z.strictObject({ accountId: z.nullable(z.string().check(z.maxLength(64))) });

const accountAnswer = z.strictObject({ account: wire.account });
const providerAnswer = z.strictObject({ provider: wire.provider });
const providersAnswer = z.strictObject({ providers: z.array(wire.provider) });
const testAnswer = z.strictObject({ ok: z.boolean(), detail: z.string() });

/** Where a mode's routes live and who may call them. */
function place(mode: Mode): { base: string; access: 'admin' | 'member'; team: boolean } {
  const team = mode === 'team';
  return {
    base: team ? '/v1/providers/{provider}' : '/v1/me/providers/{provider}',
    access: team ? 'admin' : 'member',
    team,
  };
}

/** Adding an API-key or keyless account. */
function createRoute(mode: Mode): Route {
  const { base, access, team } = place(mode);
  return {
    method: 'POST',
    path: `${base}/accounts`,
    access,
    contract: {
      summary: team ? 'Add a team API-key or keyless account' : 'Add one of your own API-key or keyless accounts',
      tag: 'accounts',
      body: accountCreateBody,
      responses: { 201: { description: 'The new account', schema: accountAnswer } },
      errors: [502],
    },
    handler: async (request) => {
      const provider = providerParam(request);
      const body = parseInput(accountCreateBody, request.body, 'body');
      const { account, active } = await createKeyAccount({
        provider: provider.id,
        scope: scopeOf(request, mode),
        kind: body.kind,
        label: body.label,
        apiKey: body.kind === 'api_key' ? body.apiKey : null,
        endpoint: body.endpoint,
        actor: callerOf(request).id,
      });
      return { status: 201, body: { account: toAccountView(account, active) } };
    },
  };
}

/** Changing an account (label, pool, endpoint, effort, key). */
function patchRoute(mode: Mode): Route {
  const { base, access } = place(mode);
  return {
    method: 'PATCH',
    path: `${base}/accounts/{id}`,
    access,
    contract: {
      summary: 'Change an account: label, pool membership, endpoint, effort, or rotate its API key',
      tag: 'accounts',
      body: accountPatchBody,
      responses: { 200: { description: 'The account as stored', schema: accountAnswer } },
      errors: [409, 502],
    },
    handler: async (request) => {
      const provider = providerParam(request);
      const id = accountParam(request, provider);
      const body = parseInput(accountPatchBody, request.body, 'body');
      const account = await patchAccount({
        provider: provider.id,
        accountId: id,
        scope: scopeOf(request, mode),
        actor: callerOf(request).id,
        patch: body,
      });
      return { status: 200, body: { account: await accountView(account) } };
    },
  };
}

/** Removing an account and its secret. */
function removeRoute(mode: Mode): Route {
  const { base, access } = place(mode);
  return {
    method: 'DELETE',
    path: `${base}/accounts/{id}`,
    access,
    contract: {
      summary: 'Remove an account and its secret, at once',
      tag: 'accounts',
      responses: { 204: { description: 'Removed' } },
      errors: [502],
    },
    handler: async (request) => {
      const provider = providerParam(request);
      await removeAccount({
        provider: provider.id,
        accountId: accountParam(request, provider),
        scope: scopeOf(request, mode),
        actor: callerOf(request).id,
      });
      return { status: 204 };
    },
  };
}

/** Testing an account; OAuth accounts through `checkOAuth`. */
function testRoute(mode: Mode, checkOAuth: OAuthCheck): Route {
  const { base, access } = place(mode);
  return {
    method: 'POST',
    path: `${base}/accounts/{id}/test`,
    access,
    contract: {
      summary: 'Test an account: refresh (OAuth), an authenticated call (API key) or reachability (keyless)',
      tag: 'accounts',
      responses: { 200: { description: 'The outcome', schema: testAnswer } },
      errors: [409, 502],
    },
    handler: async (request) => {
      const provider = providerParam(request);
      const result = await testAccount({
        provider: provider.id,
        accountId: accountParam(request, provider),
        scope: scopeOf(request, mode),
        actor: callerOf(request).id,
        checkOAuth,
      });
      return { status: 200, body: result };
    },
  };
}

/** Setting or clearing the active account. */
function activeRoute(mode: Mode): Route {
  const { base, access, team } = place(mode);
  return {
    method: 'PUT',
    path: `${base}/active`,
    access,
    contract: {
      summary: team ? 'Set or clear the team’s active account' : 'Set or clear your own active account',
      tag: 'accounts',
      body: activeBody,
      responses: { 200: { description: 'The provider after the change', schema: providerAnswer } },
    },
    handler: async (request) => {
      const provider = providerParam(request);
      const { accountId } = parseInput(activeBody, request.body, 'body');
      if (accountId !== null && !schemas.accountIdParam.safeParse(accountId).success) {
        throw malformedAccountId(provider);
      }
      await activateAccount({
        provider: provider.id,
        accountId,
        scope: scopeOf(request, mode),
        actor: callerOf(request).id,
      });
      const scope: AccountScope =
        mode === 'team' ? { kind: 'server' } : { kind: 'personal', owner: callerOf(request).id };
      return providerResponse(provider, scope);
    },
  };
}

function routesFor(mode: Mode, deps: AccountRouteDeps): Route[] {
  return [createRoute(mode), patchRoute(mode), removeRoute(mode), testRoute(mode, deps.checkOAuth), activeRoute(mode)];
}

/** What the account routes need from areas that build on accounts. */
export interface AccountRouteDeps {
  /** The Test action on an OAuth account (`checkOAuthAccount` in `shared/oauth/accounts.ts`). */
  checkOAuth: OAuthCheck;
}

/**
 * Provider and account routes (team and personal); `functions/accounts.ts` serves them with the
 * sign-in, settings, audit and finance routes.
 */
export const accountRoutes = (deps: AccountRouteDeps): Route[] => [
  {
    method: 'GET',
    path: '/v1/providers',
    access: 'member',
    contract: {
      summary: 'All five providers with the team’s accounts (admins also see members’ own, read-only)',
      tag: 'providers',
      responses: { 200: { description: 'The providers', schema: providersAnswer } },
    },
    handler: async (request) => {
      const scope = viewScope(request);
      const providers = await Promise.all(
        listProviders().map(async (d) => providerView(d, await loadProviderState(d.id), scope)),
      );
      return { status: 200, body: { providers } };
    },
  },
  {
    method: 'GET',
    path: '/v1/providers/{provider}',
    access: 'member',
    contract: {
      summary: 'One provider with its accounts',
      tag: 'providers',
      responses: { 200: { description: 'The provider', schema: providerAnswer } },
    },
    handler: async (request) => providerResponse(providerParam(request), viewScope(request)),
  },
  {
    method: 'GET',
    path: '/v1/me/providers',
    access: 'member',
    contract: {
      summary: 'All five providers with only your own accounts',
      tag: 'providers',
      responses: { 200: { description: 'The providers', schema: providersAnswer } },
    },
    handler: async (request) => {
      const scope: AccountScope = { kind: 'personal', owner: callerOf(request).id };
      const providers = await Promise.all(
        listProviders().map(async (d) => providerView(d, await loadProviderState(d.id), scope)),
      );
      return { status: 200, body: { providers } };
    },
  },
  ...routesFor('team', deps),
  ...routesFor('personal', deps),
];

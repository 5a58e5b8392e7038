import { localFunctions } from '#infra/local/functions.ts';
import type { Route } from '#shared/http/types.ts';
import { ECS, type World } from '#test/security/world.ts';

/**
 * The route table as the attack suite sees it: every route of every HTTP function local mode (and
 * API Gateway) serves, read from `localFunctions`, so a route added later is attacked too. Routes
 * with a probe below are exercised with real resources and exact statuses; any other route gets a
 * generic row (authentication and role exact, the rest "authorized and no 5xx") and is named in the
 * suite's output until someone writes its probe.
 */

export interface CatalogRoute {
  fn: string;
  route: Route;
  /** `METHOD /path/{param}` */
  key: string;
}

/** Every route of every function, in table order. */
export function allRoutes(): CatalogRoute[] {
  return localFunctions.flatMap((fn) =>
    fn.routes.map((route) => ({ fn: fn.name, route, key: `${route.method} ${route.path}` })),
  );
}

export const CALLERS = [
  'anonymous',
  'bad_token',
  'member',
  'other_member',
  'admin',
  'task_token',
  'spent_ticket',
  'expired_task_token',
] as const;
export type CallerName = (typeof CALLERS)[number];

/** A request a probe built: a concrete path and, for body routes, a JSON body. */
export interface Built {
  path: string;
  body?: unknown;
}

/** Where a container route takes its credential. */
export type Slot = 'ticket' | 'bearer' | 'refresh_token';

export interface Probe {
  /** Builds the request for one caller; may create resources first (fresh per cell). */
  build: (world: World, caller: CallerName) => Promise<Built>;
  /** Status for the member (Alice) on member routes, the admin on admin routes; on container routes, the task token's. */
  ok: number;
  /** Bob, on a member route, where it differs from Alice (her own resources → 404). */
  other?: number;
  /** The admin on a member route, where it differs from Alice. */
  admin?: number;
  /** Container routes: where the credential goes. */
  slot?: Slot;
  /** A valid body for fuzzing (no resources needed); defaults to what `build` gives. */
  template?: unknown;
}

const CLAUDE_KEY_BODY = (world: World) => ({
  kind: 'api_key',
  label: 'Matrix key',
  apiKey: world.newApiKey('matrix'),
});

async function createTeamAccount(world: World): Promise<string> {
  const res = await world.json<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
    body: CLAUDE_KEY_BODY(world),
  });
  return res.body.account.id;
}

async function createAliceAccount(world: World): Promise<string> {
  const res = await world.json<{ account: { id: string } }>('POST', '/v1/me/providers/claude/accounts', {
    as: 'alice',
    body: CLAUDE_KEY_BODY(world),
  });
  return res.body.account.id;
}

/** Alice starts a personal Codex sign-in and, when asked, signs in at the OAuth server. */
async function aliceSignIn(world: World, authorize: boolean): Promise<{ id: string; redirectUrl: string }> {
  const res = await world.json<{ signIn: { id: string; authorizeUrl: string } }>(
    'POST',
    '/v1/me/providers/codex/sign-ins',
    { as: 'alice', body: {} },
  );
  const { id, authorizeUrl } = res.body.signIn;
  const redirectUrl = authorize
    ? await world.oauth.authorize(authorizeUrl, 'alice')
    : 'http://localhost:1455/auth/callback?code=x&state=y';
  return { id, redirectUrl };
}

/** Alice's grant id (the value is registered by the leak scan from the response). */
async function aliceGrant(world: World): Promise<string> {
  const res = await world.json<{ grant: { id: string } }>('POST', '/v1/me/grants', {
    as: 'alice',
    body: { provider: 'codex', hours: 1 },
  });
  return res.body.grant.id;
}

const mayAct = (caller: CallerName): boolean => caller === 'member' || caller === 'other_member' || caller === 'admin';

const fixed = (path: string, body?: unknown) => async (): Promise<Built> => ({
  path,
  ...(body === undefined ? {} : { body }),
});

/** Exact probes, keyed by route. */
export const PROBES: Record<string, Probe> = {
  'GET /v1/openapi.json': { build: fixed('/v1/openapi.json'), ok: 200 },
  'GET /v1/providers': { build: fixed('/v1/providers'), ok: 200 },
  'GET /v1/providers/{provider}': { build: fixed('/v1/providers/claude'), ok: 200 },
  'GET /v1/me/providers': { build: fixed('/v1/me/providers'), ok: 200 },
  'POST /v1/providers/{provider}/sign-ins': {
    build: fixed('/v1/providers/codex/sign-ins', { label: 'Matrix sign-in' }),
    ok: 201,
  },
  'POST /v1/providers/{provider}/accounts': {
    build: async (world) => ({ path: '/v1/providers/claude/accounts', body: CLAUDE_KEY_BODY(world) }),
    ok: 201,
    template: { kind: 'api_key', label: 'Fuzz', apiKey: 'sk-ant-api03-fuzz-template-0001' },
  },
  'PATCH /v1/providers/{provider}/accounts/{id}': {
    build: async (world) => ({
      path: `/v1/providers/claude/accounts/${world.fixtures.teamKeyAccount}`,
      body: { label: 'Team key (renamed)' },
    }),
    ok: 200,
  },
  'DELETE /v1/providers/{provider}/accounts/{id}': {
    build: async (world, caller) => ({
      path: `/v1/providers/claude/accounts/${mayAct(caller) ? await createTeamAccount(world) : world.fixtures.teamKeyAccount}`,
    }),
    ok: 204,
  },
  'POST /v1/providers/{provider}/accounts/{id}/test': {
    build: async (world) => ({ path: `/v1/providers/claude/accounts/${world.fixtures.teamKeylessAccount}/test` }),
    ok: 200,
  },
  'PUT /v1/providers/{provider}/active': {
    build: async (world) => ({
      path: '/v1/providers/claude/active',
      body: { accountId: world.fixtures.teamKeyAccount },
    }),
    ok: 200,
  },
  'POST /v1/me/providers/{provider}/sign-ins': { build: fixed('/v1/me/providers/codex/sign-ins', {}), ok: 201 },
  'POST /v1/me/providers/{provider}/accounts': {
    build: async (world) => ({ path: '/v1/me/providers/claude/accounts', body: CLAUDE_KEY_BODY(world) }),
    ok: 201,
    template: { kind: 'api_key', label: 'Fuzz', apiKey: 'sk-ant-api03-fuzz-template-0002' },
  },
  'PATCH /v1/me/providers/{provider}/accounts/{id}': {
    build: async (world) => ({
      path: `/v1/me/providers/claude/accounts/${world.fixtures.alicePersonal}`,
      body: { label: 'Alice own (renamed)' },
    }),
    ok: 200,
    other: 404,
    admin: 404,
  },
  'DELETE /v1/me/providers/{provider}/accounts/{id}': {
    build: async (world, caller) => ({
      path: `/v1/me/providers/claude/accounts/${mayAct(caller) ? await createAliceAccount(world) : world.fixtures.alicePersonal}`,
    }),
    ok: 204,
    other: 404,
    admin: 404,
  },
  'POST /v1/me/providers/{provider}/accounts/{id}/test': {
    build: async (world) => ({ path: `/v1/me/providers/claude/accounts/${world.fixtures.alicePersonal}/test` }),
    ok: 200,
    other: 404,
    admin: 404,
  },
  'PUT /v1/me/providers/{provider}/active': {
    build: async (world) => ({
      path: '/v1/me/providers/claude/active',
      body: { accountId: world.fixtures.alicePersonal },
    }),
    ok: 200,
    other: 404,
    admin: 404,
  },
  'POST /v1/sign-ins/{id}/complete': {
    build: async (world, caller) => {
      const { id, redirectUrl } = await aliceSignIn(world, mayAct(caller));
      return { path: `/v1/sign-ins/${id}/complete`, body: { redirectUrl } };
    },
    ok: 201,
    other: 404,
    admin: 404,
    template: { redirectUrl: 'http://localhost:1455/auth/callback?code=x&state=y' },
  },
  'DELETE /v1/sign-ins/{id}': {
    build: async (world) => ({ path: `/v1/sign-ins/${(await aliceSignIn(world, false)).id}` }),
    ok: 204,
    other: 404,
    admin: 404,
  },
  'GET /v1/settings': { build: fixed('/v1/settings'), ok: 200 },
  'PATCH /v1/settings': { build: fixed('/v1/settings', { keepalive: { claude: { intervalHours: 6 } } }), ok: 200 },
  'GET /v1/audit': { build: fixed('/v1/audit?limit=5'), ok: 200 },
  'GET /v1/finance': { build: fixed('/v1/finance'), ok: 200 },
  'PATCH /v1/finance/{provider}': { build: fixed('/v1/finance/claude', { costCenter: 'R&D' }), ok: 200 },
  'POST /v1/launches': {
    build: fixed('/v1/launches', { provider: 'codex', maxDurationMinutes: 30, ecs: ECS }),
    ok: 201,
  },
  'GET /v1/launches': { build: fixed('/v1/launches?limit=5'), ok: 200 },
  'GET /v1/launches/{id}': {
    build: async (world) => ({ path: `/v1/launches/${world.fixtures.aliceLaunch}` }),
    ok: 200,
    other: 404,
  },
  'GET /v1/environments': { build: fixed('/v1/environments'), ok: 200 },
  'DELETE /v1/environments/{name}': {
    build: async (world, caller) => {
      const name = `matrix-${caller.replace(/_/g, '-')}`;
      if (mayAct(caller)) await world.json('PUT', `/v1/environments/${name}`, { body: { providers: {} } });
      return { path: `/v1/environments/${name}` };
    },
    ok: 204,
  },
  'POST /v1/me/grants': { build: fixed('/v1/me/grants', { provider: 'codex', hours: 1 }), ok: 201 },
  'GET /v1/me/grants': { build: fixed('/v1/me/grants'), ok: 200 },
  'DELETE /v1/me/grants/{id}': {
    build: async (world, caller) => ({
      path: `/v1/me/grants/${mayAct(caller) ? await aliceGrant(world) : 'grt_00000000000000000000'}`,
    }),
    ok: 200,
    other: 404,
    admin: 404,
  },
  // A task token is not a grant: only `keyfleet sync`'s grant fetches a workstation profile.
  'GET /v1/grants/profile': { build: fixed('/v1/grants/profile'), ok: 401, slot: 'bearer' },
  'GET /v1/me/preferences': { build: fixed('/v1/me/preferences'), ok: 200 },
  'PUT /v1/me/preferences': {
    build: fixed('/v1/me/preferences', { providers: { claude: { effort: 'high' } } }),
    ok: 200,
  },
  'GET /v1/environments/{name}': { build: fixed('/v1/environments/default'), ok: 200 },
  'PUT /v1/environments/{name}': {
    build: fixed('/v1/environments/matrix', { providers: { claude: { effort: 'low' } } }),
    ok: 200,
  },
  'POST /v1/helpers/task-name': { build: fixed('/v1/helpers/task-name', { instructions: 'Retry uploads' }), ok: 200 },
  'POST /v1/helpers/commit-message': {
    build: fixed('/v1/helpers/commit-message', { diff: '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n' }),
    ok: 200,
  },
  'POST /v1/tickets/redeem': { build: fixed('/v1/tickets/redeem', {}), ok: 200, slot: 'ticket' },
  'GET /v1/tasks/token': { build: fixed('/v1/tasks/token?provider=codex'), ok: 200, slot: 'bearer' },
  // The world's task token belongs to a ticket-delivery launch, whose agent may not report usage.
  'POST /v1/tasks/usage': {
    build: fixed('/v1/tasks/usage', { requests: 1, inputTokens: 0, outputTokens: 0, statusCounts: { '200': 1 } }),
    ok: 409,
    slot: 'bearer',
  },
  'POST /v1/oauth/codex/token': {
    build: fixed('/v1/oauth/codex/token', { grant_type: 'refresh_token', client_id: 'codex-client' }),
    ok: 200,
    slot: 'refresh_token',
  },
};

/** Placeholder values for path parameters of routes without a probe. */
const PARAM_DEFAULTS: Record<string, string> = {
  provider: 'claude',
  id: 'acc_00000000000000000000',
  name: 'default',
};

/** A generic request for a route without a probe: parameters filled in, an empty JSON object as body. */
export function genericBuilt(route: Route): Built {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => PARAM_DEFAULTS[name] ?? 'matrix-probe');
  return { path, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} }) };
}

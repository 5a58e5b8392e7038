import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routePattern } from '#shared/http/route-pattern.ts';
import { TOKENS } from '#test/helpers/api.ts';
import {
  allRoutes,
  type Built,
  CALLERS,
  type CallerName,
  type CatalogRoute,
  genericBuilt,
  PROBES,
  type Probe,
} from '#test/security/catalog.ts';
import { scanForLeaks } from '#test/security/leaks.ts';
import { ECS, type RawRequest, startWorld, tableSnapshot, ticketOf, type World } from '#test/security/world.ts';

/**
 * The authorization matrix: every route of the route table × every kind of caller → the status
 * the contract implies. Rows come from the route table itself (`localFunctions`), so a new route
 * gets its row without anyone writing it.
 */

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

const BAD_TOKEN = 'kf-not-a-known-token-0123456789abcdef';

function credentialOf(caller: CallerName): string | undefined {
  const f = world.fixtures;
  const map: Record<CallerName, string | undefined> = {
    anonymous: undefined,
    bad_token: BAD_TOKEN,
    member: TOKENS.alice,
    other_member: TOKENS.bob,
    admin: TOKENS.admin,
    task_token: f.taskToken,
    spent_ticket: f.spentTicket,
    expired_task_token: f.expiredTaskToken,
  };
  return map[caller];
}

/** An exact status and code, or (routes without a probe) "got past authorization, no 5xx". */
type Expectation = { status: number; code?: string } | { authorized: true };

const CODES: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  410: 'ticket_used',
};

const exact = (status: number): Expectation => ({ status, ...(CODES[status] ? { code: CODES[status] } : {}) });

function containerExpectation(probe: Probe | undefined, caller: CallerName): Expectation {
  const slot = probe?.slot ?? 'bearer';
  if (caller === 'anonymous') return exact(slot === 'bearer' ? 401 : 400);
  // Whatever is presented as a ticket that is not a live ticket is "used or expired".
  if (slot === 'ticket') return exact(410);
  if (caller !== 'task_token') return exact(401);
  return probe ? exact(probe.ok) : { authorized: true };
}

/** What the contract implies for one cell. */
function expectation(route: CatalogRoute, caller: CallerName): Expectation {
  const probe = PROBES[route.key];
  const access: string = route.route.access;
  if (access === 'container') return containerExpectation(probe, caller);
  // A route anyone may call (the OpenAPI document): every caller gets what the anonymous one gets.
  if (access === 'public') return probe ? exact(probe.ok) : { authorized: true };
  if (access !== 'member' && access !== 'admin') throw new Error(`${route.key}: no rule for access "${access}"`);
  if (caller !== 'member' && caller !== 'other_member' && caller !== 'admin') return exact(401);
  if (access === 'admin' && caller !== 'admin') return exact(403);
  if (!probe) return { authorized: true };
  if (caller === 'other_member') return exact(probe.other ?? probe.ok);
  if (caller === 'admin' && access === 'member') return exact(probe.admin ?? probe.ok);
  return exact(probe.ok);
}

function toRequest(route: CatalogRoute, built: Built, caller: CallerName): RawRequest {
  const credential = credentialOf(caller);
  const slot = route.route.access === 'container' ? (PROBES[route.key]?.slot ?? 'bearer') : 'bearer';
  let body = built.body;
  if (slot === 'ticket' && credential !== undefined) body = { ...(body as object), ticket: credential };
  if (slot === 'refresh_token' && credential !== undefined) body = { ...(body as object), refresh_token: credential };
  return {
    method: route.route.method,
    path: built.path,
    ...(slot === 'bearer' && credential !== undefined ? { bearer: credential } : {}),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  };
}

interface Cell {
  caller: CallerName;
  status: number;
  mismatch?: string;
}

async function runCell(route: CatalogRoute, caller: CallerName): Promise<Cell> {
  const probe = PROBES[route.key];
  const built = probe ? await probe.build(world, caller) : genericBuilt(route.route);
  const want = expectation(route, caller);
  const got = await world.send(toRequest(route, built, caller));
  const body = got.text ? (JSON.parse(got.text) as { error?: { code?: string; message?: string } }) : undefined;
  const problems: string[] = [];
  if ('authorized' in want) {
    if (got.status === 401 || got.status === 403 || got.status >= 500) problems.push(`status ${got.status}`);
  } else {
    if (got.status !== want.status) problems.push(`status ${got.status}, want ${want.status}`);
    if (want.code && body?.error?.code !== want.code) problems.push(`code ${body?.error?.code}, want ${want.code}`);
  }
  if (got.status >= 400 && !(body?.error && typeof body.error.message === 'string' && body.error.code))
    problems.push('error body is not {error: {code, message}}');
  const detail = problems.length
    ? `${caller}: ${problems.join('; ')} (${world.scrub(got.text).slice(0, 160)})`
    : undefined;
  return { caller, status: got.status, ...(detail ? { mismatch: detail } : {}) };
}

const routes = allRoutes();
let cells = 0;
let methodCells = 0;

describe('authorization matrix', () => {
  it('has a row for every route of every function, and no route twice', () => {
    const keys = routes.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(0);
  });

  it.each(routes.map((r) => [r.key, r] as const))('%s answers every caller as its access implies', async (_, route) => {
    const results: Cell[] = [];
    for (const caller of CALLERS) results.push(await runCell(route, caller));
    cells += results.length;
    expect(results.flatMap((r) => (r.mismatch ? [r.mismatch] : []))).toEqual([]);
  });

  it('leaves what other callers could not change as it was', async () => {
    const alice = await world.json<{ providers: { id: string; accounts: { id: string; label: string }[] }[] }>(
      'GET',
      '/v1/me/providers',
      { as: 'alice' },
    );
    const own = alice.body.providers.find((p) => p.id === 'claude')?.accounts.map((a) => [a.id, a.label]);
    expect(own).toContainEqual([world.fixtures.alicePersonal, 'Alice own (renamed)']);
    const bob = await world.json<{ providers: { accounts: { id: string }[] }[] }>('GET', '/v1/me/providers', {
      as: 'bob',
    });
    expect(JSON.stringify(bob.body)).not.toContain(world.fixtures.alicePersonal);
    const team = await world.json<{ provider: { accounts: { id: string }[] } }>('GET', '/v1/providers/claude', {
      as: 'alice',
    });
    expect(team.body.provider.accounts.map((a) => a.id)).toContain(world.fixtures.teamKeyAccount);
  });

  it('lets a member neither see, launch with nor prefer another member’s personal account, nor see their launches', async () => {
    const providers = await world.json('GET', '/v1/providers', { as: 'bob' });
    expect(providers.status).toBe(200);
    expect(JSON.stringify(providers.body)).not.toContain(world.fixtures.alicePersonal);
    const preferred = { preferredAccountId: world.fixtures.alicePersonal };
    const launch = await world.json('POST', '/v1/launches', {
      as: 'bob',
      body: { provider: 'claude', ...preferred, maxDurationMinutes: 30, ecs: ECS },
    });
    const preference = await world.json('PUT', '/v1/me/preferences', {
      as: 'bob',
      body: { providers: { claude: preferred } },
    });
    expect([launch.status, preference.status]).toEqual([404, 404]);
    expect(routes.some((r) => r.key === 'GET /v1/launches')).toBe(true);
    const launches = await world.json<{ launches: { callerId: string }[] }>('GET', '/v1/launches?limit=100', {
      as: 'bob',
    });
    expect(launches.status).toBe(200);
    expect(launches.body.launches.filter((l) => l.callerId !== 'bob')).toEqual([]);
    const all = await world.json<{ launches: { id: string }[] }>('GET', '/v1/launches?limit=100', { as: 'admin' });
    expect(all.body.launches.map((l) => l.id)).toContain(world.fixtures.aliceLaunch);
  });

  it('answers forbidden when an admin route aims at a member’s personal account, and changes nothing', async () => {
    const { alicePersonal } = world.fixtures;
    const before = await tableSnapshot();
    const problems: string[] = [];
    for (const route of routes.filter((r) => r.route.access === 'admin' && r.route.path.includes('/accounts/{id}'))) {
      const path = route.route.path.replace('{provider}', 'claude').replace('{id}', alicePersonal);
      const body = route.route.method === 'PATCH' ? JSON.stringify({ label: 'Taken over' }) : undefined;
      const got = await world.send({
        method: route.route.method,
        path,
        bearer: TOKENS.admin,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      if (got.status !== 403) problems.push(`${route.key}: ${got.status}`);
    }
    const activate = await world.json('PUT', '/v1/providers/claude/active', { body: { accountId: alicePersonal } });
    if (activate.status !== 403) problems.push(`PUT /v1/providers/claude/active: ${activate.status}`);
    expect(problems).toEqual([]);
    expect(await tableSnapshot()).toEqual(before);
  });

  it('redeems a ticket exactly once under 25 concurrent redemptions', async () => {
    const launched = await world.json('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'codex', maxDurationMinutes: 30, ecs: ECS },
    });
    expect(launched.status).toBe(201);
    const ticket = ticketOf(world.ecs.runTasks.at(-1));
    world.secrets.set(ticket, 'ticket');
    const redeem = () =>
      world.send({
        method: 'POST',
        path: '/v1/tickets/redeem',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ticket }),
      });
    const statuses = (await Promise.all(Array.from({ length: 25 }, redeem))).map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array.from({ length: 24 }, () => 410)]);
  });

  it('answers not_found for every method a route path does not have, before authentication', async () => {
    const patterns = routes.map((r) => ({
      method: r.route.method,
      pattern: routePattern(r.route.path),
    }));
    const problems: string[] = [];
    for (const route of routes) {
      const { path } = genericBuilt(route.route);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (patterns.some((p) => p.method === method && p.pattern.test(path))) continue;
        const got = await world.send({ method, path });
        methodCells += 1;
        const code = got.text ? (JSON.parse(got.text) as { error?: { code?: string } }).error?.code : undefined;
        if (got.status !== 404 || code !== 'not_found') problems.push(`${method} ${path}: ${got.status} ${code}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('leaks no secret value it handled', async () => {
    const report = await scanForLeaks(world);
    expect(report.hits).toEqual([]);
    const generic = routes.filter((r) => !PROBES[r.key]).map((r) => r.key);
    const stale = Object.keys(PROBES).filter((key) => !routes.some((r) => r.key === key));
    console.log(
      `authorization matrix: ${cells} cells covered (${routes.length} routes × ${CALLERS.length} callers, ` +
        `${generic.length} generic rows${generic.length ? `: ${generic.join(', ')}` : ''}` +
        `${stale.length ? `; probes for missing routes: ${stale.join(', ')}` : ''}), ` +
        `plus ${methodCells} path × missing-method checks; ` +
        `leak scan: ${report.values} values scanned in ${report.places} places, ${report.hits.length} hits`,
    );
  });
});

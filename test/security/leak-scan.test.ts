import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '#test/helpers/api.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { signIn } from '#test/helpers/sign-in.ts';
import { allRoutes } from '#test/security/catalog.ts';
import { scanForLeaks } from '#test/security/leaks.ts';
import { ECS, startWorld, ticketOf, type World } from '#test/security/world.ts';

/**
 * The leak scan over a whole end-to-end run: sign-ins by all three flows, API-key accounts, forced
 * refreshes (rotating refresh tokens), launches and redemptions for OAuth and API-key accounts,
 * task-token use on both container routes, a replayed ticket, helpers, and requests that carry
 * secrets into validation errors. Every token, key, verifier, code, ticket and task token used is
 * then searched for in logs, table items, responses, error messages, audit events and RunTask input.
 */

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

const ids: Record<string, string> = {};

async function launchAndRedeem(provider: string, accountId: string): Promise<{ taskToken: string; text: string }> {
  const launched = await world.json('POST', '/v1/launches', {
    as: 'alice',
    body: { provider, preferredAccountId: accountId, maxDurationMinutes: 30, ecs: ECS },
  });
  expect(launched.status).toBe(201);
  const ticket = ticketOf(world.ecs.runTasks.at(-1));
  world.secrets.set(ticket, 'ticket');
  const redeemed = await world.send({
    method: 'POST',
    path: '/v1/tickets/redeem',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ticket }),
  });
  expect(redeemed.status).toBe(200);
  const { taskToken } = JSON.parse(redeemed.text) as { taskToken: string };
  world.secrets.set(taskToken, 'task_token');
  return { taskToken, text: redeemed.text };
}

describe('leak scan over an end-to-end run', () => {
  it('signs in by code, redirect URL and device flow, and adds API-key accounts', async () => {
    ids.claude = (await signIn(world.api, world.oauth, 'claude', 'carol')).id;
    ids.gemini = (await signIn(world.api, world.oauth, 'gemini', 'gina')).id;
    const started = await world.json<{ signIn: { id: string; verificationUriComplete: string } }>(
      'POST',
      '/v1/providers/grok/sign-ins',
      { body: { label: 'Grok team' } },
    );
    expect(started.status).toBe(201);
    await world.oauth.approveDevice(started.body.signIn.verificationUriComplete, 'gus');
    const done = await world.json<{ account: { id: string } }>(
      'POST',
      `/v1/sign-ins/${started.body.signIn.id}/complete`,
      {
        body: {},
      },
    );
    expect(done.status).toBe(201);
    ids.grok = done.body.account.id;
    for (const provider of ['codex', 'gemini', 'grok']) {
      const res = await world.json<{ account: { id: string } }>('POST', `/v1/providers/${provider}/accounts`, {
        body: { kind: 'api_key', label: `${provider} key`, apiKey: world.newApiKey(provider) },
      });
      expect(res.status).toBe(201);
      ids[`${provider}Key`] = res.body.account.id;
    }
    await world.harvestVault();
  });

  it('refreshes OAuth accounts through the test action (rotating their refresh tokens)', async () => {
    for (const [provider, id] of [
      ['claude', ids.claude],
      ['codex', world.fixtures.codexAccount],
      ['grok', ids.grok],
    ]) {
      const res = await world.json<{ ok: boolean }>('POST', `/v1/providers/${provider}/accounts/${id}/test`);
      expect(res.status).toBe(200);
      expect(res.body.ok).toBe(true);
      await world.harvestVault();
    }
  });

  it('launches and redeems for OAuth and API-key accounts, and uses the task tokens', async () => {
    const codex = await launchAndRedeem('codex', world.fixtures.codexAccount);
    const refreshed = await world.send({
      method: 'POST',
      path: '/v1/oauth/codex/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'codex-client',
        refresh_token: codex.taskToken,
      }).toString(),
    });
    expect(refreshed.status).toBe(200);
    for (const [provider, id] of [
      ['claude', ids.claude],
      ['gemini', ids.gemini],
      ['grok', ids.grok],
    ] as const) {
      const { taskToken } = await launchAndRedeem(provider, id ?? '');
      const token = await world.send({
        method: 'GET',
        path: `/v1/tasks/token?provider=${provider}`,
        bearer: taskToken,
      });
      expect(token.status).toBe(200);
    }
    for (const provider of ['codex', 'gemini', 'grok']) await launchAndRedeem(provider, ids[`${provider}Key`] ?? '');
    await world.harvestVault();
  });

  it('answers a replayed ticket, a wrong-provider task token and secrets in bad input without echoing them', async () => {
    const replay = await world.json('POST', '/v1/tickets/redeem', { body: { ticket: world.fixtures.spentTicket } });
    expect(replay.status).toBe(410);
    const wrong = await world.send({
      method: 'GET',
      path: '/v1/tasks/token?provider=claude',
      bearer: world.fixtures.taskToken,
    });
    expect(wrong.status).toBe(403);
    const key = world.newApiKey('refused');
    const refused = await world.json('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Bad\u0000label', apiKey: `${key}\u0007` },
    });
    expect(refused.status).toBe(400);
    const stray = await world.json('PATCH', `/v1/providers/claude/accounts/${world.fixtures.teamKeyAccount}`, {
      body: { label: 'Renamed', apiKey: key, token: world.fixtures.taskToken },
    });
    expect(stray.status).toBe(400);
    const keyAsName = await world.json('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'codex', ecs: { ...ECS, environment: { [key]: 'x' } } },
    });
    expect(keyAsName.status).toBe(400);
    const ticketAsId = await world.json('GET', `/v1/launches/${world.fixtures.spentTicket}`, { as: 'alice' });
    expect(ticketAsId.status).toBe(404);
  });

  it('issues, uses and revokes a personal grant', async () => {
    expect(allRoutes().some((r) => r.key === 'POST /v1/me/grants')).toBe(true);
    const issued = await world.json<{ grant: { id: string; token: string } }>('POST', '/v1/me/grants', {
      as: 'alice',
      body: { provider: 'codex', hours: 1 },
    });
    expect(issued.status).toBe(201);
    const { id, token } = issued.body.grant;
    world.secrets.set(token, 'grant');
    expect((await world.send({ method: 'GET', path: '/v1/grants/profile', bearer: token })).status).toBe(200);
    expect((await world.send({ method: 'GET', path: '/v1/tasks/token?provider=codex', bearer: token })).status).toBe(
      200,
    );
    expect((await world.json('DELETE', `/v1/me/grants/${id}`, { as: 'alice' })).status).toBe(200);
    expect((await world.send({ method: 'GET', path: '/v1/grants/profile', bearer: token })).status).toBe(401);
  });

  it('does not repeat a task token pasted as a provider id', async () => {
    const res = await world.json('GET', `/v1/providers/${world.fixtures.taskToken}`, { as: 'alice' });
    expect(res.status).toBe(404);
  });

  // Regression: not_found used to repeat up to 40 characters of a malformed account id, so a
  // token pasted as an id came back in the answer. The value is made up and unregistered, so it
  // cannot trip the scan below.
  it('does not repeat a token pasted as an account id', async () => {
    const pasted = `kft_${randomBytes(32).toString('base64url')}`;
    const logged = capturedLogs().length;
    const res = await world.send({
      method: 'PATCH',
      path: `/v1/providers/claude/accounts/${pasted}`,
      bearer: TOKENS.admin,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'x' }),
    });
    expect(res.status).toBe(404);
    expect(`${res.text}\n${capturedLogs().slice(logged)}`).not.toContain(pasted.slice(4, 28));
  });

  it('names a task and a commit through the helpers with the team API key', async () => {
    const named = await world.json('POST', '/v1/helpers/task-name', {
      as: 'alice',
      body: { instructions: 'Retry failed uploads' },
    });
    expect(named.status).toBe(200);
    expect(world.upstream.seen.some((r) => r.path === '/v1/messages')).toBe(true);
  });

  it('reports a value planted in the logs and in an error response', async () => {
    // Not a valid task token's shape, so the credential harvest does not pick it up once it is forgotten.
    const planted = `kft_planted${'x'.repeat(20)}`;
    world.secrets.set(planted, 'task_token');
    process.stdout.write(`{"level":"INFO","message":"planted ${planted}"}\n`);
    const index =
      world.exchanges.push({ method: 'GET', path: '/v1/planted', status: 404, text: planted, headers: {} }) - 1;
    const report = await scanForLeaks(world);
    expect(report.hits).toEqual([
      { kind: 'task_token', value: 'kft_plan', place: 'logs' },
      { kind: 'task_token', value: 'kft_plan', place: `response #${index} GET /v1/planted → 404` },
    ]);
    world.secrets.delete(planted);
    world.exchanges.splice(index, 1);
  });

  it('finds no secret value where it must not be', async () => {
    const report = await scanForLeaks(world);
    expect(report.hits).toEqual([]);
    const kinds = new Map<string, number>();
    for (const kind of world.secrets.values()) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ');
    expect(report.allowed).toBeGreaterThan(0);
    console.log(
      `leak scan: ${report.values} values scanned (${byKind}) in ${report.places} places ` +
        `(logs, table items, audit events, RunTask input, ${world.exchanges.length} responses); ` +
        `${report.hits.length} hits, ${report.allowed} appearances where the contract hands the value out`,
    );
  });
});

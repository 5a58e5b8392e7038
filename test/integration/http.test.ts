import type { Server } from 'node:http';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { handler as accountsHandler } from '#functions/accounts.ts';
import { localFunctions } from '#infra/local/functions.ts';
import { createLocalApi, listen } from '#infra/local/server.ts';
import { httpHandler } from '#shared/http/handler.ts';
import type { Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { httpEvent } from '#test/helpers/events.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

const ADMIN = 'admin-token-for-http-tests';
const MEMBER = 'member-token-for-http-tests';
const LEAKY = 'sk-ant-oat01-leaky-value-0123456789';

/** A fixture function that exercises the HTTP layer's body handling and error mapping. */
const fixtureRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/test/echo',
    access: 'member',
    handler: async (r) => ({ status: 200, body: { got: r.body } }),
  },
  { method: 'POST', path: '/v1/test/admin', access: 'admin', handler: async () => ({ status: 204 }) },
  {
    method: 'POST',
    path: '/v1/test/validate',
    access: 'member',
    handler: async (r) => {
      parseInput(z.strictObject({ env: z.record(z.string().regex(/^[A-Z_]{1,64}$/), z.string()) }), r.body, 'body');
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    path: '/v1/test/boom',
    access: 'member',
    handler: async () => {
      throw new Error(`database exploded while holding ${LEAKY}`);
    },
  },
];

let aws: LocalAws;
let server: Server;
let base: string;

beforeAll(async () => {
  aws = await startLocalAws();
  registerSecret(LEAKY);
  server = createLocalApi(
    [...localFunctions, { name: 'fixture', routes: fixtureRoutes, handler: httpHandler(fixtureRoutes) }],
    {
      tokens: new Map([
        [ADMIN, { id: 'admin', role: 'admin' }],
        [MEMBER, { id: 'member', role: 'member' }],
      ]),
    },
  );
  base = await listen(server, 0);
});
afterAll(async () => {
  server.close();
  await aws.stop();
});

async function call(path: string, init: RequestInit & { token?: string | null } = {}) {
  const token = init.token === undefined ? ADMIN : init.token;
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const json = { 'content-type': 'application/json' };

describe('GET /v1/providers', () => {
  it('lists all five providers with no accounts on a fresh install', async () => {
    const res = await call('/v1/providers', { token: MEMBER });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const providers = (res.body as { providers: Record<string, unknown>[] }).providers;
    expect(providers.map((p) => p.id)).toEqual(['claude', 'codex', 'gemini', 'bob', 'grok']);
    expect(providers[0]).toEqual({
      id: 'claude',
      name: 'Claude (Anthropic)',
      signIn: 'code',
      activeAccountId: null,
      roundRobinAccountIds: [],
      model: null,
      helpers: true,
      keepalive: { enabled: true, intervalHours: 6, lastRefreshAt: null, nextRefreshAt: null, lastResult: null },
      accounts: [],
    });
  });

  it('answers one provider, and unknown_provider for anything else', async () => {
    const res = await call('/v1/providers/grok');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: { id: 'grok', signIn: 'device', helpers: false } });
    const unknown = await call('/v1/providers/mistral');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: {
        code: 'unknown_provider',
        message: 'Unknown provider "mistral". Known providers: claude, codex, gemini, bob, grok.',
      },
    });
  });
});

describe('error mapping', () => {
  it('regression: a token sent where a provider id goes is not repeated in unknown_provider', async () => {
    const token = `kft_${'A1b2C3d4'.repeat(5)}xyz`;
    const res = await call(`/v1/providers/${token}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: {
        code: 'unknown_provider',
        message: 'Unknown provider. Known providers: claude, codex, gemini, bob, grok.',
      },
    });
  });

  it('answers unknown routes with not_found', async () => {
    const res = await call('/v1/nothing-here');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers unauthenticated and unknown-token calls with unauthorized', async () => {
    expect(await call('/v1/providers', { token: null })).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthorized' } },
    });
    expect(await call('/v1/providers', { token: 'wrong-token' })).toMatchObject({ status: 401 });
  });

  it('refuses members on admin routes', async () => {
    const res = await call('/v1/test/admin', { method: 'POST', token: MEMBER });
    expect(res).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden', message: 'This action needs the admin role.' } },
    });
  });

  it('parses JSON bodies', async () => {
    const res = await call('/v1/test/echo', { method: 'POST', headers: json, body: '{"a":[1,2]}' });
    expect(res).toMatchObject({ status: 200, body: { got: { a: [1, 2] } } });
  });

  it('answers malformed JSON with bad_request', async () => {
    const res = await call('/v1/test/echo', { method: 'POST', headers: json, body: '{"a":' });
    expect(res).toEqual({
      status: 400,
      headers: expect.anything(),
      body: { error: { code: 'bad_request', message: 'Request body is not valid JSON.' } },
    });
  });

  it('answers a wrong content type with bad_request', async () => {
    const res = await call('/v1/test/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(res.body).toEqual({ error: { code: 'bad_request', message: 'Content-Type must be application/json.' } });
  });

  it('accepts a charset parameter on the content type', async () => {
    const res = await call('/v1/test/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '"x"',
    });
    expect(res).toMatchObject({ status: 200, body: { got: 'x' } });
  });

  it('answers bodies over 64 KiB with payload_too_large', async () => {
    const res = await call('/v1/test/echo', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ pad: 'x'.repeat(64 * 1024) }),
    });
    expect(res).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('regression: a record key that is a secret is not echoed in a validation error path', async () => {
    const res = await call('/v1/test/validate', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ env: { [LEAKY]: 'x' } }),
    });
    expect(res.body).toEqual({
      error: {
        code: 'validation_failed',
        message: 'Invalid body: body.env.[REDACTED] Invalid key in record',
        details: [{ path: 'body.env.[REDACTED]', message: 'Invalid key in record' }],
      },
    });
  });

  it('regression: huge and control-character keys are cut short and made printable in validation errors', async () => {
    const huge = 'k'.repeat(30_000);
    const res = await call('/v1/test/validate', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ env: { [`A\u0000${huge}`]: 'x' }, [huge]: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }),
    });
    const cut = `${'k'.repeat(40)}…`;
    expect(res.body).toEqual({
      error: {
        code: 'validation_failed',
        message: `Invalid body: body.env.A?${'k'.repeat(38)}… Invalid key in record; body Unrecognized keys: "${cut}", "b", "c", "d", "e" and 1 more`,
        details: [
          { path: `body.env.A?${'k'.repeat(38)}…`, message: 'Invalid key in record' },
          { path: 'body', message: `Unrecognized keys: "${cut}", "b", "c", "d", "e" and 1 more` },
        ],
      },
    });
  });

  it('answers a failing route with a generic internal error and logs no secret', async () => {
    const res = await call('/v1/test/boom');
    expect(res.body).toEqual({ error: { code: 'internal', message: 'Internal error.' } });
    expect(res.status).toBe(500);
    expect(capturedLogs()).toContain('database exploded while holding [REDACTED]');
    expect(capturedLogs()).not.toContain(LEAKY);
  });
});

describe('the Lambda handler on its own (as API Gateway invokes it)', () => {
  const jwt = { jwt: { claims: { sub: 'user-1' } } };

  it('serves a JWT-authenticated caller', async () => {
    const result = await accountsHandler(httpEvent('GET', '/v1/providers', jwt), {} as Context);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  });

  it('refuses a request with no authorizer output', async () => {
    const result = await accountsHandler(httpEvent('GET', '/v1/providers', undefined), {} as Context);
    expect(result.statusCode).toBe(401);
  });

  it('checks the size of base64-encoded bodies after decoding', async () => {
    const fixture = httpHandler(fixtureRoutes);
    const big = Buffer.from(JSON.stringify({ pad: 'y'.repeat(70_000) })).toString('base64');
    const result = await fixture(
      httpEvent(
        'POST',
        '/v1/test/echo',
        { lambda: { callerId: 'm' } },
        { body: big, isBase64Encoded: true, headers: json },
      ),
      {} as Context,
    );
    expect(result.statusCode).toBe(413);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});

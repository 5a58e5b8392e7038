import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clientFromEnv } from '#shared/operator/client.ts';
import { type ConsoleServer, startConsoleServer } from '#shared/operator/console.ts';
import { startTestApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { sigv4Verified } from '#test/helpers/sigv4.ts';

/**
 * `keyfleet console` for an IAM-auth stack: API Gateway's IAM authorizer has no local peer, so a
 * loopback front checks each SigV4 signature with the same library, then passes the request on to
 * the local API as the admin (standing in for an admin role's identity).
 */

const credentials = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret-access-key' };
let api: TestApi;
let front: Server;
let frontUrl: string;
let consoleServer: ConsoleServer;
const signed: { path: string; verified: boolean }[] = [];

const verified = (req: IncomingMessage, body: string) =>
  sigv4Verified(req, body, { base: frontUrl, region: 'eu-west-1', credentials });

beforeAll(async () => {
  api = await startTestApi();
  front = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const ok = await verified(req, body);
    signed.push({ path: req.url ?? '', verified: ok });
    if (!ok) {
      res.writeHead(403, { 'content-type': 'application/json' });
      return res.end('{"message":"Forbidden"}');
    }
    const answer = await fetch(`${api.base}${req.url}`, {
      method: req.method,
      headers: { authorization: `Bearer ${TOKENS.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body || undefined,
    });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(await answer.text());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  front.close();
  await api.stop();
});
// Each test: a console just started, with its own one-time sign-in code, and no request signed yet.
beforeEach(async () => {
  signed.length = 0;
  consoleServer = await startConsoleServer(clientFromEnv({ KEYFLEET_URL: frontUrl, AWS_REGION: 'eu-west-1' }), 0);
});
afterEach(async () => {
  await consoleServer.close();
});

async function session(code: string): Promise<Response> {
  return fetch(`${consoleServer.url}/console/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-keyfleet-console': '1' },
    body: JSON.stringify({ token: code }),
  });
}

describe('keyfleet console', () => {
  it('learns the operator is an admin from the deployed API, through signed requests', () => {
    expect(consoleServer.role).toBe('admin');
    expect(signed[0]).toEqual({ path: '/v1/settings', verified: true });
  });

  it('serves the console page with its strict content security policy', async () => {
    const page = await fetch(`${consoleServer.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/console/app.js');
  });

  it('forwards the page API calls signed with the operator credentials once signed in with the code', async () => {
    const signedIn = await session(consoleServer.code);
    expect(signedIn.status).toBe(201);
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(signedIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const before = signed.length;
    const created = await fetch(`${consoleServer.url}/v1/providers/claude/accounts`, {
      method: 'POST',
      headers: { cookie, 'x-keyfleet-console': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'api_key', label: 'Via console', apiKey: 'sk-ant-console-forwarded-1111' }),
    });
    expect(created.status).toBe(201);
    const providers = await fetch(`${consoleServer.url}/v1/providers/claude?x=1`, {
      headers: { cookie, 'x-keyfleet-console': '1' },
    });
    expect(providers.status).toBe(200);
    const body = (await providers.json()) as { provider: { accounts: { label: string }[] } };
    expect(body.provider.accounts.map((a) => a.label)).toContain('Via console');
    expect(signed.slice(before)).toEqual([
      { path: '/v1/providers/claude/accounts', verified: true },
      { path: '/v1/providers/claude?x=1', verified: true },
    ]);
    const text = JSON.stringify(body);
    expect(text).not.toContain('sk-ant-console-forwarded-1111');
  });

  it('regression: the sign-in code opens one session only, and is no bearer token', async () => {
    expect((await session(consoleServer.code)).status).toBe(201);
    const before = signed.length;
    expect((await session(consoleServer.code)).status).toBe(401);
    const bearer = await fetch(`${consoleServer.url}/v1/providers`, {
      headers: { authorization: `Bearer ${consoleServer.code}` },
    });
    expect(bearer.status).toBe(401);
    expect(signed.length).toBe(before);
  });

  it('forwards nothing without the session, the console header, or from another site', async () => {
    const cookie = ((await session(consoleServer.code)).headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/=/);
    const before = signed.length;
    expect((await fetch(`${consoleServer.url}/v1/providers`)).status).toBe(401);
    expect((await fetch(`${consoleServer.url}/v1/providers`, { headers: { cookie } })).status).toBe(401);
    const crossSite = await fetch(`${consoleServer.url}/v1/providers`, {
      headers: { cookie, 'x-keyfleet-console': '1', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(401);
    expect((await session('not-the-code')).status).toBe(401);
    expect(signed.length).toBe(before);
  });
});

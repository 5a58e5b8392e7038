import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '#functions/console.ts';
import { consoleConfig } from '../../web/serve.ts';
import { writeConsole } from '../../web/write.ts';
import { checkScreen, launchChromium, watchPage } from './harness.ts';

/**
 * The deployed console with the JWT option: the page from functions/console.ts, a real OpenID
 * provider on loopback (oidc-provider, PKCE required), and in place of API Gateway's JWT
 * authorizer (which has no local peer) a recorder that checks the ID token's signature, issuer
 * and audience the way the authorizer would.
 */
let browser: Browser;
let site: Server;
let idp: Server;
let origin: string;
let issuer: string;
let assets: string;
const seen: { path: string; authorization: string; cookie: string }[] = [];
const tokenRequests: Record<string, string>[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks an RS256 ID token against the provider's keys; returns its claims. */
async function verifyIdToken(token: string): Promise<Record<string, unknown>> {
  const [head = '', payload = '', signature = ''] = token.split('.');
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { kid: string; alg: string };
  const { keys } = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  const jwk = keys.find((k) => k.kid === header.kid);
  expect(header.alg).toBe('RS256');
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  expect(verify('sha256', Buffer.from(`${head}.${payload}`), key, Buffer.from(signature, 'base64url'))).toBe(true);
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

beforeAll(async () => {
  assets = await mkdtemp(join(tmpdir(), 'kf-console-'));
  await writeConsole(assets);
  site = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/v1/')) {
      seen.push({
        path: url.pathname,
        authorization: String(request.headers.authorization ?? ''),
        cookie: String(request.headers.cookie ?? ''),
      });
      const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
      const claims = token ? await verifyIdToken(token).catch(() => null) : null;
      const ok = claims && claims.iss === issuer && claims.aud === 'console-client';
      const answer = !ok
        ? { status: 401, body: { error: { code: 'unauthorized', message: 'Unauthorized' } } }
        : url.pathname === '/v1/settings'
          ? { status: 403, body: { error: { code: 'forbidden', message: 'This action needs the admin role.' } } }
          : { status: 200, body: { providers: [] } };
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
      return;
    }
    const result = await handler({
      rawPath: url.pathname,
      requestContext: { http: { method: request.method ?? 'GET' } },
    } as never);
    response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
    response.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : result.body);
  });
  origin = await listen(site);

  idp = createServer();
  // Another host name than the console's, as in production: cookies ignore ports, not hosts.
  issuer = (await listen(idp)).replace('127.0.0.1', 'localhost');
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'console-client',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${origin}/console/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email'] },
    cookies: { keys: ['keyfleet-console-test'] },
    async findAccount(_ctx: unknown, sub: string) {
      return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test` }) };
    },
  });
  const callback = provider.callback();
  idp.on('request', async (request, response) => {
    if (request.method === 'POST' && request.url === '/token') {
      const raw = await body(request);
      tokenRequests.push(Object.fromEntries(new URLSearchParams(raw)));
      (request as IncomingMessage & { body?: unknown }).body = Object.fromEntries(new URLSearchParams(raw));
    }
    callback(request, response);
  });

  process.env.KEYFLEET_CONSOLE_AUTH = 'jwt';
  process.env.KEYFLEET_CONSOLE_ISSUER = issuer;
  process.env.KEYFLEET_CONSOLE_CLIENT_ID = 'console-client';
  process.env.KEYFLEET_CONSOLE_SCOPES = 'openid email';
  process.env.KEYFLEET_CONSOLE_ASSETS = assets;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  site?.closeAllConnections();
  site?.close();
  idp?.closeAllConnections();
  idp?.close();
  await rm(assets, { recursive: true, force: true });
});

describe('the deployed console with JWT sign-in', () => {
  it('signs in with authorization code + PKCE, keeps the ID token in memory only, and calls the API with it', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const problems = watchPage(page);
    const headers = (await page.goto(origin))?.headers() ?? {};
    expect(headers['content-security-policy']).toContain(`connect-src 'self' ${issuer};`);

    const popupOpened = page.waitForEvent('popup');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const popup = await popupOpened;
    await popup.locator('input[name=login]').fill('ops');
    await popup.locator('input[name=password]').fill('any-password');
    await popup.locator('button[type=submit]').click();
    const closed = popup.waitForEvent('close');
    await popup.locator('button[type=submit]').click();
    await closed;

    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents()).toEqual([
      'AI Providers',
      'Launches',
      'Profile',
    ]);
    expect(await page.locator('.who').textContent()).toContain('ops · member');

    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({
      grant_type: 'authorization_code',
      client_id: 'console-client',
      redirect_uri: `${origin}/console/callback`,
    });
    expect(tokenRequests[0]?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);

    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.map((s) => s.path)).toContain('/v1/settings');
    expect(seen.map((s) => s.path)).toContain('/v1/providers');
    const tokens = new Set(seen.map((s) => s.authorization.replace(/^Bearer /, '')));
    expect(tokens.size).toBe(1);
    const [idToken = ''] = tokens;
    expect(await verifyIdToken(idToken)).toMatchObject({ iss: issuer, aud: 'console-client', sub: 'ops' });
    expect(seen.every((s) => s.cookie === '')).toBe(true);
    expect(await context.cookies(origin)).toEqual([]);

    await checkScreen(page, '20-jwt-signed-in', [
      idToken,
      tokenRequests[0]?.code ?? '',
      tokenRequests[0]?.code_verifier ?? '',
    ]);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('functions/console.ts', () => {
  const get = (path: string, method = 'GET') =>
    handler({ rawPath: path, requestContext: { http: { method } } } as never) as Promise<{
      statusCode: number;
      headers: Record<string, string>;
    }>;

  it('answers 404 for paths outside the console and for methods other than GET and HEAD', async () => {
    expect((await get('/v1/providers')).statusCode).toBe(404);
    expect((await get('/console/../secrets.json')).statusCode).toBe(404);
    expect((await get('/', 'POST')).statusCode).toBe(404);
    expect((await get('/console/app.css')).headers).toMatchObject({
      'content-type': 'text/css; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    });
  });

  it('tells the page to use the CLI without the JWT option, and refuses an http issuer off loopback', () => {
    expect(consoleConfig({})).toEqual({ auth: 'iam' });
    expect(() =>
      consoleConfig({
        KEYFLEET_CONSOLE_AUTH: 'jwt',
        KEYFLEET_CONSOLE_ISSUER: 'http://id.example.com',
        KEYFLEET_CONSOLE_CLIENT_ID: 'c',
      }),
    ).toThrow(/KEYFLEET_CONSOLE_ISSUER/);
    expect(
      consoleConfig({
        KEYFLEET_CONSOLE_AUTH: 'jwt',
        KEYFLEET_CONSOLE_ISSUER: 'https://id.example.com',
        KEYFLEET_CONSOLE_CLIENT_ID: 'c',
      }),
    ).toEqual({
      auth: 'jwt',
      issuer: 'https://id.example.com',
      clientId: 'c',
      scopes: ['openid', 'email', 'profile'],
      redirectPath: '/console/callback',
    });
  });
});

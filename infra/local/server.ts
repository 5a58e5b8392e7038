import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { BadRequestError, NotFoundError, PayloadTooLargeError, UnauthorizedError } from '#shared/errors.ts';
import { MAX_BODY_BYTES } from '#shared/http/body.ts';
import { errorResponse } from '#shared/http/errors.ts';
import { type HttpEvent, type HttpHandler, type HttpResult, toResult } from '#shared/http/handler.ts';
import { routePattern } from '#shared/http/route-pattern.ts';
import type { Caller, Route } from '#shared/http/types.ts';
import { logger } from '#shared/log/logger.ts';
import type { ConsoleBundle } from '../../web/build.ts';
import { type ConsoleConfig, consoleAssetPath, consoleHeaders } from '../../web/serve.ts';

/** One deployed function as local mode sees it: its routes and its Lambda handler. */
export interface LocalFunction {
  name: string;
  routes: Route[];
  handler: HttpHandler;
}

export interface LocalAuth {
  /** bearer token → caller. */
  tokens: Map<string, Caller>;
  /**
   * Codes that open one console session each (`keyfleet console`): traded once at
   * `/console/session`, then gone; never accepted as a bearer token.
   */
  signInCodes?: Map<string, Caller>;
}

/** A sign-in code's caller, spending the code (constant-time comparison, like the tokens). */
function spendSignInCode(auth: LocalAuth, code: string): Caller | null {
  if (!auth.signInCodes) return null;
  const found = authenticate({ tokens: auth.signInCodes }, `Bearer ${code}`);
  if (!found) return null;
  for (const [value, caller] of auth.signInCodes) if (caller === found) auth.signInCodes.delete(value);
  return found;
}

/** The header the console sends with every cookie-authenticated call; a cross-site form cannot. */
export const CONSOLE_HEADER = 'x-keyfleet-console';
const SESSION_COOKIE = 'keyfleet_session';
const SESSION_SECONDS = 12 * 60 * 60;

/** Console sessions: SHA-256 of the cookie value → caller. Only the hash is kept. */
class ConsoleSessions {
  private readonly sessions = new Map<string, { caller: Caller; expiresAt: number }>();

  create(caller: Caller): string {
    const now = Date.now();
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(digest(id).toString('hex'), { caller, expiresAt: Date.now() + SESSION_SECONDS * 1000 });
    return id;
  }

  find(id: string): Caller | null {
    const key = digest(id).toString('hex');
    const session = this.sessions.get(key);
    if (!session) return null;
    if (session.expiresAt <= Date.now()) {
      this.sessions.delete(key);
      return null;
    }
    return session.caller;
  }

  end(id: string): void {
    this.sessions.delete(digest(id).toString('hex'));
  }
}

interface CompiledRoute {
  fn: LocalFunction;
  route: Route;
  pattern: RegExp;
}

function compile(fn: LocalFunction, route: Route): CompiledRoute {
  return { fn, route, pattern: routePattern(route.path) };
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time lookup of a bearer token. */
function authenticate(auth: LocalAuth, header: string | undefined): Caller | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return null;
  const presented = digest(match[1]);
  let found: Caller | null = null;
  for (const [token, caller] of auth.tokens) {
    if (timingSafeEqual(digest(token), presented)) found = caller;
  }
  return found;
}

function sessionCookie(request: IncomingMessage): string | null {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length) return value.join('=');
  }
  return null;
}

/**
 * A console session counts only with the console header, and never for a request another site
 * made (`Sec-Fetch-Site`), so a cross-site form or image cannot ride on the cookie.
 */
function consoleCaller(sessions: ConsoleSessions, request: IncomingMessage): Caller | null {
  if (request.headers[CONSOLE_HEADER] !== '1') return null;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return null;
  const id = sessionCookie(request);
  return id ? sessions.find(id) : null;
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function toEvent(request: IncomingMessage, url: URL, body: string, caller: Caller | null): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    // The console's session cookie is the local authorizer's business, never a handler's.
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      ...(caller ? { authorizer: { lambda: { callerId: caller.id, role: caller.role } } } : {}),
    },
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  } as HttpEvent;
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `keyfleet-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:keyfleet-local-${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/local/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function write(response: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(result.body ?? '');
}

let bundle: Promise<ConsoleBundle> | undefined;

/** The console's files, bundled once per process on first use (a failed build is retried). */
export function consoleBundle(): Promise<ConsoleBundle> {
  // esbuild loads only when someone opens the console, not for every local API.
  bundle ??= import('../../web/build.ts')
    .then(({ buildConsole }) => buildConsole())
    .catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
  return bundle;
}

function cookie(value: string, maxAge: number): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  write(response, toResult({ status, body, headers }));
}

/** `/console/session`: trade a bearer token for a session cookie, look at it, or end it. */
async function sessionRoute(
  request: IncomingMessage,
  response: ServerResponse,
  auth: LocalAuth,
  sessions: ConsoleSessions,
): Promise<void> {
  if (request.method === 'GET') {
    const caller = consoleCaller(sessions, request);
    if (!caller) throw new UnauthorizedError('No console session: sign in with your token.');
    return json(response, 200, { caller });
  }
  if (request.headers[CONSOLE_HEADER] !== '1') throw new BadRequestError(`Send the ${CONSOLE_HEADER}: 1 header.`);
  if (request.method === 'DELETE') {
    const id = sessionCookie(request);
    if (id) sessions.end(id);
    write(response, { statusCode: 204, headers: { 'cache-control': 'no-store', 'set-cookie': cookie('', 0) } });
    return;
  }
  if (request.method !== 'POST') throw new NotFoundError(`No route for ${request.method} /console/session.`);
  if (!/^application\/json(;|$)/i.test(request.headers['content-type'] ?? '')) {
    throw new BadRequestError('Send JSON: content-type: application/json.');
  }
  const body = await readBody(request);
  if (body === null) throw new PayloadTooLargeError(`Request body is over ${MAX_BODY_BYTES} bytes.`);
  let token: unknown;
  try {
    token = (JSON.parse(body) as { token?: unknown })?.token;
  } catch {
    throw new BadRequestError('The body is not valid JSON.');
  }
  const presented = typeof token === 'string' ? token.trim() : '';
  const caller = presented ? (authenticate(auth, `Bearer ${presented}`) ?? spendSignInCode(auth, presented)) : null;
  if (!caller) throw new UnauthorizedError('That token is not valid here.');
  json(response, 201, { caller }, { 'set-cookie': cookie(sessions.create(caller), SESSION_SECONDS) });
}

/** Serves the console's page, script, style sheet and sign-in settings; false for other paths. */
async function serveConsole(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (url.pathname === '/console/config.json') {
    const config: ConsoleConfig = { auth: 'session' };
    json(response, 200, config, { 'x-content-type-options': 'nosniff' });
    return true;
  }
  const path = consoleAssetPath(url.pathname);
  if (!path) return false;
  const asset = (await consoleBundle()).assets.get(path);
  if (!asset) return false;
  response.writeHead(200, consoleHeaders(asset));
  response.end(request.method === 'HEAD' ? undefined : asset.body);
  return true;
}

/**
 * The local stand-in for API Gateway: routes each request to the function that owns the path,
 * authenticates bearer tokens (the local authorizer) for caller routes, and invokes the same
 * Lambda handler the stack deploys, with a payload v2 event. It also serves the web console at
 * `/`, whose calls authenticate with a session cookie plus the console header instead.
 */
export function createLocalApi(functions: LocalFunction[], auth: LocalAuth): Server {
  const routes = functions.flatMap((fn) => fn.routes.map((route) => compile(fn, route)));
  const sessions = new ConsoleSessions();
  return createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/console/session') return await sessionRoute(request, response, auth, sessions);
      if (await serveConsole(request, response, url)) return;
      const match = routes.find((r) => r.route.method === request.method && r.pattern.test(url.pathname));
      if (!match) throw new NotFoundError(`No route for ${request.method} ${url.pathname.slice(0, 120)}.`);
      let caller: Caller | null = null;
      if (match.route.access !== 'container' && match.route.access !== 'public') {
        caller = request.headers.authorization
          ? authenticate(auth, request.headers.authorization)
          : consoleCaller(sessions, request);
        if (!caller) throw new UnauthorizedError('Authentication required: send Authorization: Bearer <token>.');
      }
      const body = await readBody(request);
      if (body === null) throw new PayloadTooLargeError(`Request body is over ${MAX_BODY_BYTES} bytes.`);
      write(response, await match.fn.handler(toEvent(request, url, body, caller), lambdaContext(match.fn.name)));
    } catch (error) {
      if (!response.headersSent) write(response, toResult(errorResponse(error)));
      else logger.error('local api failed after responding', { error });
    }
  });
}

export async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

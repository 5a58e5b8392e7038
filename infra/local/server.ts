import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { NotFoundError, PayloadTooLargeError, UnauthorizedError } from '#shared/errors.ts';
import { MAX_BODY_BYTES } from '#shared/http/body.ts';
import { errorResponse } from '#shared/http/errors.ts';
import { type HttpEvent, type HttpHandler, type HttpResult, toResult } from '#shared/http/handler.ts';
import type { Caller, Route } from '#shared/http/types.ts';
import { logger } from '#shared/log/logger.ts';

/** One deployed function as local mode sees it: its routes and its Lambda handler. */
export interface LocalFunction {
  name: string;
  routes: Route[];
  handler: HttpHandler;
}

export interface LocalAuth {
  /** bearer token → caller. */
  tokens: Map<string, Caller>;
}

interface CompiledRoute {
  fn: LocalFunction;
  route: Route;
  pattern: RegExp;
}

function compile(fn: LocalFunction, route: Route): CompiledRoute {
  const source = route.path
    .split('/')
    .map((part) => (part.startsWith('{') && part.endsWith('}') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { fn, route, pattern: new RegExp(`^${source}/?$`) };
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
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
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

/**
 * The local stand-in for API Gateway: routes each request to the function that owns the path,
 * authenticates bearer tokens (the local authorizer) for caller routes, and invokes the same
 * Lambda handler the stack deploys, with a payload v2 event.
 */
export function createLocalApi(functions: LocalFunction[], auth: LocalAuth): Server {
  const routes = functions.flatMap((fn) => fn.routes.map((route) => compile(fn, route)));
  return createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const match = routes.find((r) => r.route.method === request.method && r.pattern.test(url.pathname));
      if (!match) throw new NotFoundError(`No route for ${request.method} ${url.pathname.slice(0, 120)}.`);
      let caller: Caller | null = null;
      if (match.route.access !== 'container') {
        caller = authenticate(auth, request.headers.authorization);
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

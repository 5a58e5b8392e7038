import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { config } from '#shared/config.ts';
import { BadRequestError, ForbiddenError, NotFoundError, printable, UnauthorizedError } from '#shared/errors.ts';
import { parseJsonBody } from '#shared/http/body.ts';
import { errorResponse } from '#shared/http/errors.ts';
import { callerFromEvent } from '#shared/http/identity.ts';
import type { ApiRequest, ApiResponse, Caller, Route } from '#shared/http/types.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

const BASE_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

/** Serialises an {@link ApiResponse}; every response, error or not, carries `cache-control: no-store`. */
export function toResult(response: ApiResponse): HttpResult {
  const headers = { ...BASE_HEADERS, ...response.headers };
  if (response.body === undefined) return { statusCode: response.status, headers: { 'cache-control': 'no-store' } };
  return { statusCode: response.status, headers, body: JSON.stringify(response.body) };
}

function authorize(route: Route, event: HttpEvent): Caller | null {
  if (route.access === 'container' || route.access === 'public') return null;
  const caller = callerFromEvent(event, config());
  if (!caller) throw new UnauthorizedError('Authentication required.');
  if (route.access === 'admin' && caller.role !== 'admin') {
    throw new ForbiddenError('This action needs the admin role.');
  }
  return caller;
}

function decodeParams(params: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      throw new BadRequestError(`Path parameter "${name}" is not valid percent-encoding.`);
    }
  }
  return out;
}

function lowerCaseHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

function adapt(route: Route) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const caller = authorize(route, event);
    const request: ApiRequest = {
      method: route.method,
      path: event.requestContext.http.path,
      params: decodeParams(event.pathParameters),
      query: Object.fromEntries(
        Object.entries(event.queryStringParameters ?? {}).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      headers: lowerCaseHeaders(event.headers),
      body: route.method === 'GET' || route.method === 'DELETE' ? undefined : parseJsonBody(event, route.body),
      caller,
    };
    return toResult(await route.handler(request));
  };
}

/**
 * A Lambda handler for an HTTP API (payload v2) serving `routes`: routing, caller identity and
 * role checks, JSON bodies (64 KiB cap), and error mapping. Every Keyfleet function that answers
 * HTTP is built with this, and local mode invokes the very same handlers.
 */
export function httpHandler(routes: Route[]): HttpHandler {
  const router = httpRouterHandler<HttpEvent, HttpResult>({
    routes: routes.map((route) => ({ method: route.method, path: route.path, handler: adapt(route) })),
    notFoundResponse: ({ method, path }: { method: string; path: string }) => {
      throw new NotFoundError(`No route for ${printable(method, 10)} ${printable(path, 120)}.`);
    },
  });
  const handler = middy<HttpEvent, HttpResult>()
    .use({
      onError: async (request) => {
        request.response = toResult(errorResponse(request.error));
      },
    })
    .handler(router);
  return handler as unknown as HttpHandler;
}

import type { ZodMiniType } from 'zod/mini';

/**
 * Plain request and response types for route handlers. Handlers never see a Lambda event:
 * the HTTP layer (`shared/http/handler.ts`) converts API Gateway payload v2 events into these.
 */
export type Role = 'admin' | 'member';

export interface Caller {
  id: string;
  role: Role;
}

/**
 * Who may call a route: members and admins, admins only, containers (the handler checks the
 * ticket, task token or grant it carries), or anyone (`public`: only the API reference).
 */
export type RouteAccess = 'member' | 'admin' | 'container' | 'public';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** Null only on container routes. */
  caller: Caller | null;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: HttpMethod;
  /** API Gateway style template: `/v1/providers/{provider}`. */
  path: string;
  access: RouteAccess;
  /** Bodies the route accepts: JSON (default), or JSON and HTML forms (OAuth token endpoints). */
  body?: 'json' | 'json_or_form';
  handler: (request: ApiRequest) => Promise<ApiResponse>;
  /** What the route takes and answers: the source of the OpenAPI document (`shared/http/openapi.ts`). */
  contract?: RouteContract;
}

/**
 * A route's contract. `query` and `body` are the very schemas the handler validates with; each
 * response schema is what the contract tests hold the handler's answers to.
 */
export interface RouteContract {
  summary: string;
  /** Groups routes in the reference: providers, accounts, sign-in, settings, launches, container, … */
  tag: string;
  query?: ZodMiniType;
  body?: ZodMiniType;
  /** The body may be left out (e.g. `POST …/sign-ins`). */
  bodyOptional?: boolean;
  /** Status → what the route answers with it; `schema` absent for an empty body (204). */
  responses: Record<number, { description: string; schema?: ZodMiniType }>;
  /** Error statuses this route can answer besides the ones every route can (400, 401, 403, 404, 413, 429, 500). */
  errors?: number[];
}

/** A route's caller, which the HTTP layer guarantees on member and admin routes. */
export function callerOf(request: ApiRequest): Caller {
  if (!request.caller) throw new Error('route needs a caller but was declared container-only');
  return request.caller;
}

/**
 * Plain request and response types for route handlers. Handlers never see a Lambda event:
 * the HTTP layer (`shared/http/handler.ts`) converts API Gateway payload v2 events into these.
 */
export type Role = 'admin' | 'member';

export interface Caller {
  id: string;
  role: Role;
}

/** Who may call a route: members and admins, admins only, or containers (ticket / task token). */
export type RouteAccess = 'member' | 'admin' | 'container';

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
}

/** A route's caller, which the HTTP layer guarantees on member and admin routes. */
export function callerOf(request: ApiRequest): Caller {
  if (!request.caller) throw new Error('route needs a caller but was declared container-only');
  return request.caller;
}

import type { HttpEvent } from '#shared/http/handler.ts';

/** An HTTP API payload v2 event as API Gateway sends it, with the given authorizer output. */
export function httpEvent(
  method: string,
  path: string,
  authorizer: Record<string, unknown> | undefined,
  extra: Partial<Pick<HttpEvent, 'body' | 'headers' | 'isBase64Encoded'>> = {},
): HttpEvent {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method, path }, ...(authorizer ? { authorizer } : {}) },
    ...extra,
  } as unknown as HttpEvent;
}

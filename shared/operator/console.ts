import { randomBytes } from 'node:crypto';
import type { HttpEvent, HttpResult } from '#shared/http/handler.ts';
import type { Caller, HttpMethod, Route } from '#shared/http/types.ts';
import { type ApiClient, ApiError, callApi, prepareRequest, UsageError } from '#shared/operator/client.ts';
import { type Command, stringOption } from '#shared/operator/command.ts';

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** The deepest API path is `/v1/me/providers/{provider}/accounts/{id}/test`: seven segments. */
const MAX_DEPTH = 8;

/**
 * Route patterns for every API path up to {@link MAX_DEPTH} segments under `/v1/`: the console
 * server forwards whatever the page asks for, and the deployed API decides (this way the CLI needs
 * none of the server's code).
 */
function forwardedRoutes(): Route[] {
  const routes: Route[] = [];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const path = `/v1${Array.from({ length: depth }, (_, i) => `/{p${i}}`).join('')}`;
    for (const method of METHODS)
      routes.push({ method, path, access: 'member', handler: async () => ({ status: 500 }) });
  }
  return routes;
}

/** A Lambda-shaped handler that sends the request on to the deployed API, signed for the operator. */
function forwarder(client: ApiClient) {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const method = event.requestContext.http.method;
    const url = new URL(
      `${event.rawPath.replace(/^\//, '')}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`,
      `${client.baseUrl.href.replace(/\/?$/, '/')}`,
    );
    const body = event.body && method !== 'GET' && method !== 'DELETE' ? event.body : undefined;
    const { headers } = await prepareRequest(client, method, url, body);
    try {
      const response = await (client.fetch ?? fetch)(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(60_000),
      });
      const text = await response.text();
      return {
        statusCode: response.status,
        headers: {
          'content-type': response.headers.get('content-type') ?? 'application/json',
          'cache-control': 'no-store',
        },
        ...(text ? { body: text } : {}),
      };
    } catch {
      const error = {
        error: { code: 'upstream_error', message: `Could not reach Keyfleet at ${client.baseUrl.origin}.` },
      };
      return {
        statusCode: 502,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: JSON.stringify(error),
      };
    }
  };
}

/** Admin when the deployed API lets the operator read the server settings (admin only), else member. */
async function probeRole(client: ApiClient): Promise<Caller['role']> {
  try {
    await callApi(client, 'GET', '/v1/settings');
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return 'member';
    throw error;
  }
}

/** A running `keyfleet console`. */
export interface ConsoleServer {
  url: string;
  /** The sign-in code the page asks for: it opens one session, once, and is no bearer token. */
  code: string;
  role: Caller['role'];
  close: () => Promise<void>;
}

/**
 * Serves the web console on 127.0.0.1 and forwards its API calls to the deployed API with the
 * operator's credentials (SigV4 for IAM-auth stacks), the way `kubectl proxy` does. The page signs
 * in with a one-time code printed on the terminal, traded for an HttpOnly session cookie; only
 * same-origin requests carrying the console header are forwarded, so no other local process or
 * web page can borrow the operator's identity through it.
 */
export async function startConsoleServer(client: ApiClient, port: number): Promise<ConsoleServer> {
  const role = await probeRole(client);
  const code = randomBytes(18).toString('base64url');
  const { createLocalApi, listen } = await import('#infra/local/server.ts');
  const server = createLocalApi([{ name: 'console-proxy', routes: forwardedRoutes(), handler: forwarder(client) }], {
    tokens: new Map(),
    signInCodes: new Map([[code, { id: 'operator', role }]]),
  });
  const url = await listen(server, port);
  return {
    url,
    code,
    role,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const consoleCommand: Command = {
  name: 'console',
  args: '[--port N]',
  summary: 'open the web console of a deployed stack: served on 127.0.0.1, its API calls signed with your credentials',
  options: { port: { type: 'string' } },
  details:
    'For IAM-auth stacks (JWT stacks serve the console themselves). The page asks for the one-time code\n' +
    'printed here; Ctrl-C stops. Run it from a checkout of Keyfleet (the console is built on start).',
  run: async (ctx) => {
    const raw = stringOption(ctx, 'port') ?? '8788';
    if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65_535) throw new UsageError('--port must be a port number');
    const running = await startConsoleServer(ctx.client, Number(raw));
    ctx.io.stdout.write(
      `Keyfleet console for ${ctx.client.baseUrl.origin} (as ${running.role})\n` +
        `Open ${running.url}/ and enter this one-time code: ${running.code}\nCtrl-C stops.\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await running.close();
    return 0;
  },
};

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isLoopbackHost } from '#shared/net/urls.ts';
import { ASSET_FILES, type ConsoleConfig, consoleAssetPath, consoleHeaders } from '../web/serve.ts';

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The console's files: written beside this bundle at build time (`console/`), read once. */
function assetDir(): string {
  return process.env.KEYFLEET_CONSOLE_ASSETS ?? join(dirname(fileURLToPath(import.meta.url)), 'console');
}

const cache = new Map<string, Promise<Buffer>>();

function asset(file: string): Promise<Buffer> {
  let body = cache.get(file);
  if (!body) {
    body = readFile(join(assetDir(), file));
    cache.set(file, body);
    body.catch(() => cache.delete(file));
  }
  return body;
}

/** https, or http on a loopback host (tests and local identity providers), as everywhere in Keyfleet. */
function acceptableIssuer(issuer: string): boolean {
  try {
    const url = new URL(issuer);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}

/** How the browser signs in, from the stack's settings; the JWT option needs issuer and client. */
export function consoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  if (env.KEYFLEET_CONSOLE_AUTH !== 'jwt') return { auth: 'iam' };
  const issuer = env.KEYFLEET_CONSOLE_ISSUER ?? '';
  const clientId = env.KEYFLEET_CONSOLE_CLIENT_ID ?? '';
  if (!acceptableIssuer(issuer) || !clientId) {
    throw new Error(
      'KEYFLEET_CONSOLE_AUTH=jwt needs KEYFLEET_CONSOLE_ISSUER (https://…) and KEYFLEET_CONSOLE_CLIENT_ID',
    );
  }
  const scopes = (env.KEYFLEET_CONSOLE_SCOPES ?? 'openid email profile').split(/\s+/).filter(Boolean);
  return { auth: 'jwt', issuer, clientId, scopes, redirectPath: '/console/callback' };
}

/** Origins the page may call besides its own: the OpenID provider (discovery and token endpoint). */
function connectSrc(config: ConsoleConfig, env: NodeJS.ProcessEnv): string[] {
  if (config.auth !== 'jwt') return [];
  const extra = (env.KEYFLEET_CONSOLE_CONNECT_SRC ?? '').split(',').map((s) => s.trim());
  return [...new Set([new URL(config.issuer).origin, ...extra.filter((s) => /^https:\/\/[^\s;']+$/.test(s))])];
}

function notFound(): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 404,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ error: { code: 'not_found', message: 'No such console file.' } }),
  };
}

/**
 * Serves the web console from a Lambda behind the HTTP API (`GET /` and `GET /console/{proxy+}`,
 * no authorizer: the files hold no secret; every API call the page makes is authorized as usual).
 * Same files and headers as local mode; `/console/config.json` tells the page how to sign in.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext.http.method;
  if (method !== 'GET' && method !== 'HEAD') return notFound();
  const config = consoleConfig();
  if (event.rawPath === '/console/config.json') {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      body: JSON.stringify(config),
    };
  }
  const path = consoleAssetPath(event.rawPath);
  const file = path ? ASSET_FILES[path] : undefined;
  if (!file) return notFound();
  const body = await asset(file);
  const headers = consoleHeaders(
    { contentType: TYPES[file] ?? 'application/octet-stream' },
    connectSrc(config, process.env),
  );
  return { statusCode: 200, headers, body: body.toString('base64'), isBase64Encoded: true };
}

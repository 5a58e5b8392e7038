import { isLoopbackHost } from '#shared/net/urls.ts';
import type { ConsoleAsset } from './build.ts';

/** File names in the deployed function's `console/` folder, by the URL path they serve. */
export const ASSET_FILES: Record<string, string> = {
  '/': 'index.html',
  '/console/app.js': 'app.js',
  '/console/app.css': 'app.css',
};

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The console's pages: the app shell is served for `/` and for the sign-in callback. */
const PAGE_PATHS = new Set(['/', '/index.html', '/console', '/console/', '/console/callback']);

/**
 * Which asset a request path names, or null when the path is not part of the console.
 * `/console/config.json` is not an asset: the server that knows the sign-in settings answers it.
 */
export function consoleAssetPath(pathname: string): string | null {
  if (PAGE_PATHS.has(pathname)) return '/';
  if (pathname === '/console/app.js' || pathname === '/console/app.css') return pathname;
  return null;
}

/**
 * Response headers for console files: a strict Content-Security-Policy (no inline script or
 * style, no framing), no MIME sniffing, no referrer, and no caching of the page itself.
 * `connectSrc` adds origins the page may call besides its own (the OpenID provider, deployed).
 */
export function consoleHeaders(
  asset: Pick<ConsoleAsset, 'contentType'>,
  connectSrc: string[] = [],
): Record<string, string> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...connectSrc].join(' ')}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-type': asset.contentType,
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': asset.contentType.startsWith('text/html') ? 'no-store' : 'no-cache',
  };
}

/** What `/console/config.json` answers: how the console signs people in. */
export type ConsoleConfig =
  | { auth: 'session' }
  | { auth: 'jwt'; issuer: string; clientId: string; scopes: string[]; redirectPath: string }
  | { auth: 'iam' };

/** https, or http on a loopback host (tests and local identity providers), as everywhere in Keyfleet. */
function acceptableIssuer(issuer: string): boolean {
  try {
    const url = new URL(issuer);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}

/**
 * How the deployed console signs in, from the function's environment (set by the console
 * construct): JWT needs the issuer and a public client id; anything else means IAM (use the CLI).
 */
export function consoleConfig(env: NodeJS.ProcessEnv): ConsoleConfig {
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

/** A console response, independent of how it is sent (Lambda result or Node response). */
export interface ConsoleResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Answers a request for a console file or for `/console/config.json`, or null when the request
 * is not for the console. `read` loads a file by its name in {@link ASSET_FILES}.
 */
export async function serveConsoleFile(
  method: string,
  path: string,
  read: (file: string) => Promise<Buffer>,
  env: NodeJS.ProcessEnv,
): Promise<ConsoleResponse | null> {
  if (method !== 'GET' && method !== 'HEAD') return null;
  const config = consoleConfig(env);
  if (path === '/console/config.json') {
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      body: Buffer.from(JSON.stringify(config)),
    };
  }
  const asset = consoleAssetPath(path);
  const file = asset ? ASSET_FILES[asset] : undefined;
  if (!file) return null;
  const headers = consoleHeaders({ contentType: TYPES[file] ?? 'application/octet-stream' }, connectSrc(config, env));
  return { status: 200, headers, body: await read(file) };
}

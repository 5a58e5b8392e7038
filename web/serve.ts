import type { ConsoleAsset } from './build.ts';

/** File names in the deployed function's `console/` folder, by the URL path they serve. */
export const ASSET_FILES: Record<string, string> = {
  '/': 'index.html',
  '/console/app.js': 'app.js',
  '/console/app.css': 'app.css',
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

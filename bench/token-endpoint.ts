import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenEndpoint {
  base: string;
  /** Provider overrides that send `provider`'s sign-in and refresh here. */
  overrides: (provider: string) => Record<string, Record<string, string>>;
  /** Registers a grant and returns its first refresh token. */
  issue: () => string;
  refreshes: () => number;
  close: () => Promise<void>;
}

export const CLIENT_ID = 'keyfleet-bench-client';

const token = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

/**
 * A token endpoint as strict as a rotating provider's (Claude's): JSON or form body, only
 * `grant_type=refresh_token` for the bench's client, each refresh token good once (a reused one
 * is `invalid_grant`), and every answer a new access and refresh token valid for 30 minutes.
 */
export async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const live = new Set<string>();
  let refreshes = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on('end', () => {
      const json = String(req.headers['content-type']).startsWith('application/json');
      const body: Record<string, string> = json
        ? (JSON.parse(raw || '{}') as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(raw));
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(value));
      };
      if (req.method !== 'POST' || req.url !== '/token') return answer(404, { error: 'not_found' });
      if (body.client_id !== CLIENT_ID) return answer(401, { error: 'invalid_client' });
      if (body.grant_type !== 'refresh_token') return answer(400, { error: 'unsupported_grant_type' });
      if (!body.refresh_token || !live.delete(body.refresh_token)) return answer(400, { error: 'invalid_grant' });
      refreshes += 1;
      const next = token('bench-refresh-');
      live.add(next);
      answer(200, {
        access_token: token('bench-access-'),
        refresh_token: next,
        token_type: 'Bearer',
        expires_in: 1800,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    overrides: (provider) => ({
      [provider]: {
        authorizationEndpoint: `${base}/authorize`,
        tokenEndpoint: `${base}/token`,
        clientId: CLIENT_ID,
        redirectUri: 'http://127.0.0.1:9/callback',
      },
    }),
    issue: () => {
      const first = token('bench-refresh-');
      live.add(first);
      return first;
    },
    refreshes: () => refreshes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import Provider from 'oidc-provider';

/**
 * A real OAuth 2.0 / OIDC server on loopback (oidc-provider) standing in for every provider:
 * PKCE S256, rotating single-use refresh tokens with reuse detection (reuse revokes the family),
 * the device flow, userinfo. In front of it sits what oidc-provider lacks: Claude's JSON token
 * body (turned into a form) and `account.email_address` in Claude's token response. Every token
 * request is recorded, and failures can be injected before a request reaches the server.
 */

export const REDIRECTS = {
  claude: 'http://127.0.0.1:9/claude/callback',
  codex: 'http://localhost:1455/auth/callback',
  gemini: 'http://127.0.0.1:8085/oauth2callback',
  bob: 'http://localhost:7777/bob/callback',
} as const;

export interface RecordedRequest {
  path: string;
  method: string;
  contentType: string;
  userAgent: string;
  body: Record<string, unknown>;
}

export interface Injected {
  /** Runs before the answer is sent (e.g. another writer rotating the token meanwhile). */
  before?: () => Promise<void>;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface OAuthServer {
  issuer: string;
  requests: RecordedRequest[];
  /** Answer the next token requests with these responses instead of passing them on. */
  injectTokenFailures: (...responses: Injected[]) => void;
  /** Provider overrides pointing every provider at this server. */
  overrides: () => Record<string, Record<string, unknown>>;
  /** Drives the authorize URL through login and consent; returns the URL the browser was sent back to. */
  authorize: (authorizeUrl: string, login?: string) => Promise<string>;
  /** Approves a device code in the browser. */
  approveDevice: (verificationUriComplete: string, login?: string) => Promise<void>;
  close: () => Promise<void>;
}

const CLIENTS = [
  { client_id: 'claude-client', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECTS.claude] },
  { client_id: 'codex-client', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECTS.codex] },
  {
    client_id: 'gemini-client',
    client_secret: 'gemini-test-client-secret',
    token_endpoint_auth_method: 'client_secret_post',
    redirect_uris: [REDIRECTS.gemini],
  },
  { client_id: 'bob-client', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECTS.bob] },
  {
    client_id: 'grok-client',
    token_endpoint_auth_method: 'none',
    redirect_uris: [],
    response_types: [],
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  },
].map((c) => ({
  response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token'],
  ...c,
}));

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A minimal browser: cookies, manual redirects, and submitting the first form of each page. */
function browser(login: string) {
  const cookies = new Map<string, string>();
  const remember = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
  };
  const decode = (s: string) =>
    s
      .replace(/&amp;/g, '&')
      .replace(/&#x2F;/g, '/')
      .replace(/&quot;/g, '"')
      .replace(/&#x3D;/g, '=');
  const firstForm = (html: string, page: string) => {
    const form = /<form[^>]*>[\s\S]*?<\/form>/i.exec(html)?.[0];
    if (!form) return undefined;
    const action = decode(/action="([^"]*)"/i.exec(form)?.[1] ?? page);
    const fields = new URLSearchParams();
    for (const input of form.match(/<(input|button)[^>]*>/gi) ?? []) {
      const name = /name="([^"]*)"/.exec(input)?.[1];
      if (!name) continue;
      let value = decode(/value="([^"]*)"/.exec(input)?.[1] ?? '');
      if (name === 'login') value = login;
      if (name === 'password') value = 'any-password';
      fields.set(name, value);
    }
    return { url: new URL(action, page).href, body: fields.toString() };
  };
  return async (start: string, stopAt?: string): Promise<string> => {
    let next: { url: string; body?: string } = { url: start };
    for (let step = 0; step < 25; step++) {
      if (stopAt && next.url.startsWith(stopAt)) return next.url;
      const response = await fetch(next.url, {
        method: next.body === undefined ? 'GET' : 'POST',
        body: next.body,
        redirect: 'manual',
        headers: {
          cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(next.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
      });
      remember(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        next = { url: new URL(location, next.url).href };
        continue;
      }
      const html = await response.text();
      const form = firstForm(html, next.url);
      if (!form) return next.url;
      next = form;
    }
    throw new Error('browser: too many steps');
  };
}

export async function startOAuthServer(): Promise<OAuthServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const requests: RecordedRequest[] = [];
  const injected: Injected[] = [];

  const provider = new Provider(issuer, {
    clients: CLIENTS,
    pkce: { required: () => true },
    scopes: [
      'openid',
      'email',
      'profile',
      'offline_access',
      'org:create_api_key',
      'user:profile',
      'user:inference',
      'grok-cli:access',
      'api:access',
      'https://www.googleapis.com/auth/cloud-platform',
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    rotateRefreshToken: true,
    issueRefreshToken: async () => true,
    cookies: { keys: ['keyfleet-test-cookie-key'] },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      DeviceCode: 600,
      IdToken: 3600,
      RefreshToken: 86_400,
      Grant: 86_400,
      Interaction: 600,
      Session: 86_400,
    },
    async findAccount(_ctx: unknown, sub: string) {
      return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true }) };
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.path === '/token' && ctx.status === 200 && ctx.oidc?.client?.clientId === 'claude-client' && body) {
      const entities = ctx.oidc.entities ?? {};
      const sub = entities.AuthorizationCode?.accountId ?? entities.RefreshToken?.accountId;
      if (sub) ctx.body = { ...body, account: { uuid: `uuid-${sub}`, email_address: `${sub}@example.test` } };
    }
  });
  const handle = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'POST' && (url.pathname === '/token' || url.pathname === '/device/auth')) {
      const raw = await readAll(req);
      const contentType = String(req.headers['content-type'] ?? '');
      const body = contentType.startsWith('application/json')
        ? (JSON.parse(raw || '{}') as Record<string, unknown>)
        : (parseQuery(raw) as Record<string, unknown>);
      requests.push({
        path: url.pathname,
        method: 'POST',
        contentType,
        userAgent: String(req.headers['user-agent'] ?? ''),
        body,
      });
      const failure = url.pathname === '/token' ? injected.shift() : undefined;
      if (failure) {
        await failure.before?.();
        res.writeHead(failure.status, { 'content-type': 'application/json', ...failure.headers });
        res.end(JSON.stringify(failure.body ?? { error: 'server_error' }));
        return;
      }
      // Hand oidc-provider an already-read form body (it accepts a pre-parsed req.body).
      req.headers['content-type'] = 'application/x-www-form-urlencoded';
      req.headers['content-length'] = String(
        Buffer.byteLength(new URLSearchParams(body as Record<string, string>).toString()),
      );
      (req as IncomingMessage & { body?: unknown }).body = body;
    }
    handle(req, res);
  });

  return {
    issuer,
    requests,
    injectTokenFailures: (...responses) => injected.push(...responses),
    overrides: () => {
      const common = { authorizationEndpoint: `${issuer}/auth`, tokenEndpoint: `${issuer}/token` };
      return {
        claude: { ...common, clientId: 'claude-client', redirectUri: REDIRECTS.claude },
        codex: { ...common, clientId: 'codex-client', redirectUri: REDIRECTS.codex },
        gemini: {
          ...common,
          userinfoEndpoint: `${issuer}/me`,
          clientId: 'gemini-client',
          clientSecret: 'gemini-test-client-secret',
          redirectUri: REDIRECTS.gemini,
          scopes: ['openid', 'email', 'https://www.googleapis.com/auth/cloud-platform'],
        },
        bob: {
          ...common,
          userinfoEndpoint: `${issuer}/me`,
          clientId: 'bob-client',
          redirectUri: REDIRECTS.bob,
          scopes: ['openid', 'email', 'offline_access'],
        },
        grok: { issuer, clientId: 'grok-client' },
      };
    },
    authorize: (authorizeUrl, login = 'alice') => {
      const redirect = Object.values(REDIRECTS).find((r) => {
        const target = new URL(authorizeUrl).searchParams.get('redirect_uri');
        return target === r;
      });
      return browser(login)(authorizeUrl, redirect);
    },
    approveDevice: async (verificationUriComplete, login = 'dana') => {
      await browser(login)(verificationUriComplete);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

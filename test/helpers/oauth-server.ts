import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import Provider, { type KoaContext } from 'oidc-provider';
import { resetBeforeEachTest } from '#test/helpers/isolation.ts';

/**
 * A real OAuth 2.0 / OIDC server on loopback (oidc-provider) standing in for every provider:
 * PKCE S256, the device flow, userinfo. Each provider's client behaves like that provider (see
 * `ClientBehaviour`): Claude, Codex and Grok rotate refresh tokens and a reused one revokes the
 * grant; Google's (Gemini) never rotate and its user-info answer has Google's v2 shape without
 * `sub`; Bob's backend is plain OAuth 2.0 (no ID tokens, a profile endpoint of its own). In front
 * of it sits what oidc-provider lacks: Claude's JSON token body (turned into a form) and
 * `account.email_address` in Claude's token response. Every token request is recorded, and
 * failures can be injected before a request reaches the server.
 */

export const REDIRECTS = {
  claude: 'http://127.0.0.1:9/claude/callback',
  codex: 'http://localhost:1455/auth/callback',
  gemini: 'http://127.0.0.1:8085/oauth2callback',
  bob: 'http://localhost:7777/bob/callback',
} as const;

export type TestProviderId = 'claude' | 'codex' | 'gemini' | 'bob' | 'grok';

/** How one provider's client is treated by the test server. */
export interface ClientBehaviour {
  /** Refresh tokens are single use and reusing a spent one revokes the grant; else one lasts. */
  rotatesRefreshTokens: boolean;
  /** Token answers carry an `id_token` when `openid` was granted (Bob's backend never sends one). */
  issuesIdTokens: boolean;
  /** Refresh answers repeat the refresh token (Google's leave it out when it does not change). */
  repeatsRefreshToken: boolean;
}

/**
 * Per provider, as the real ones behave. Rotation follows the provider definitions'
 * `refreshTokenRotates`; Bob's is unknown there and the strict (rotating) case is used.
 */
export const CLIENT_BEHAVIOUR: Readonly<Record<TestProviderId, ClientBehaviour>> = {
  claude: { rotatesRefreshTokens: true, issuesIdTokens: true, repeatsRefreshToken: true },
  codex: { rotatesRefreshTokens: true, issuesIdTokens: true, repeatsRefreshToken: true },
  gemini: { rotatesRefreshTokens: false, issuesIdTokens: true, repeatsRefreshToken: false },
  bob: { rotatesRefreshTokens: true, issuesIdTokens: false, repeatsRefreshToken: true },
  grok: { rotatesRefreshTokens: true, issuesIdTokens: true, repeatsRefreshToken: true },
};

export interface OAuthServerOptions {
  /** Changes to a provider's client behaviour (e.g. a Bob backend that does not rotate). */
  behaviour?: Partial<Record<TestProviderId, Partial<ClientBehaviour>>>;
}

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

export interface UserinfoRequest {
  path: string;
  method: string;
  authorization: string;
}

export interface OAuthServer {
  issuer: string;
  requests: RecordedRequest[];
  /** Requests to the non-OIDC user-info routes (Google's v2 userinfo, Bob's profile). */
  userinfoRequests: UserinfoRequest[];
  /** What those routes answered with 200, in order. */
  userinfoAnswers: Record<string, unknown>[];
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

const GOOGLE_USERINFO = '/oauth2/v2/userinfo';
const BOB_PROFILE = '/bob/v1/profile';

function providerOfClient(clientId: string | undefined): TestProviderId | undefined {
  const id = clientId?.replace(/-client$/, '');
  return id && id in CLIENT_BEHAVIOUR ? (id as TestProviderId) : undefined;
}

/** The parts of oidc-provider used here that `types/oidc-provider.d.ts` does not declare. */
interface ProviderInternals {
  AccessToken: {
    find: (
      token: string,
    ) => Promise<{ accountId: string; clientId: string; scope?: string; isExpired: boolean } | undefined>;
  };
}
type TokenContext = KoaContext & { oidc?: { params?: { grant_type?: unknown } } };

/** Who an opaque access token of `client` belongs to, if it is valid; for the non-OIDC user-info routes. */
interface Bearer {
  sub: string;
  scopes: string[];
}

async function bearerOf(provider: Provider, authorization: string, client: string): Promise<Bearer | undefined> {
  const token = /^Bearer (.+)$/.exec(authorization)?.[1];
  if (!token) return undefined;
  const found = await (provider as unknown as ProviderInternals).AccessToken.find(token);
  if (!found || found.isExpired || found.clientId !== client) return undefined;
  return { sub: found.accountId, scopes: (found.scope ?? '').split(' ').filter(Boolean) };
}

/**
 * Google's v2 user-info answer (`id`, `email`, `verified_email`, `name`, `picture`; no `sub`). Like
 * Google, the email needs the `userinfo.email` scope and the name and picture `userinfo.profile`.
 */
function googleUserinfo({ sub, scopes }: Bearer): Record<string, unknown> {
  const id = String(Number.parseInt(createHash('sha256').update(sub).digest('hex').slice(0, 12), 16));
  const has = (scope: string) => scopes.includes(`https://www.googleapis.com/auth/userinfo.${scope}`);
  return {
    id,
    ...(has('email') ? { email: `${sub}@example.test`, verified_email: true } : {}),
    ...(has('profile') ? { name: sub, picture: `https://lh3.googleusercontent.com/a/${id}` } : {}),
  };
}

/** A plain OAuth 2.0 backend's profile (Bob): no `sub`, the email among other fields. */
function bobProfile({ sub }: Bearer): Record<string, unknown> {
  return { userId: `usr-${sub}`, email: `${sub}@example.test`, displayName: sub, instances: [] };
}

const USERINFO_ROUTES: Record<string, { client: string; answer: (bearer: Bearer) => Record<string, unknown> }> = {
  [GOOGLE_USERINFO]: { client: 'gemini-client', answer: googleUserinfo },
  [BOB_PROFILE]: { client: 'bob-client', answer: bobProfile },
};

export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const requests: RecordedRequest[] = [];
  const userinfoRequests: UserinfoRequest[] = [];
  const userinfoAnswers: Record<string, unknown>[] = [];
  const injected: Injected[] = [];
  // Each test sees only its own requests, and no failure or answer an earlier test queued and left.
  const unregister = resetBeforeEachTest(() => {
    requests.length = 0;
    userinfoRequests.length = 0;
    userinfoAnswers.length = 0;
    injected.length = 0;
  });
  const behaviour = (clientId: string | undefined): ClientBehaviour | undefined => {
    const id = providerOfClient(clientId);
    return id ? { ...CLIENT_BEHAVIOUR[id], ...options.behaviour?.[id] } : undefined;
  };

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
      'bob:inference',
      'https://www.googleapis.com/auth/cloud-platform',
      'https://www.googleapis.com/auth/userinfo.email',
      'https://www.googleapis.com/auth/userinfo.profile',
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    rotateRefreshToken: (ctx: KoaContext) => behaviour(ctx.oidc?.client?.clientId)?.rotatesRefreshTokens ?? true,
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
    if (ctx.path !== '/token' || ctx.status !== 200 || !body) return;
    const clientId = ctx.oidc?.client?.clientId;
    const rules = behaviour(clientId);
    const grantType = (ctx as TokenContext).oidc?.params?.grant_type;
    const answer = { ...body };
    if (rules && !rules.issuesIdTokens) delete answer.id_token;
    if (rules && !rules.repeatsRefreshToken && grantType === 'refresh_token') {
      delete answer.refresh_token;
    }
    if (clientId === 'claude-client') {
      const entities = ctx.oidc?.entities ?? {};
      const sub = entities.AuthorizationCode?.accountId ?? entities.RefreshToken?.accountId;
      if (sub) answer.account = { uuid: `uuid-${sub}`, email_address: `${sub}@example.test` };
    }
    ctx.body = answer;
  });
  const handle = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = USERINFO_ROUTES[url.pathname];
    if (route) {
      const authorization = String(req.headers.authorization ?? '');
      userinfoRequests.push({ path: url.pathname, method: req.method ?? 'GET', authorization });
      const bearer = req.method === 'GET' ? await bearerOf(provider, authorization, route.client) : undefined;
      res.setHeader('content-type', 'application/json; charset=UTF-8');
      if (!bearer) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end(JSON.stringify({ error: { code: 401, message: 'Invalid Credentials', status: 'UNAUTHENTICATED' } }));
        return;
      }
      const answer = route.answer(bearer);
      userinfoAnswers.push(answer);
      res.writeHead(200);
      res.end(JSON.stringify(answer));
      return;
    }
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
    userinfoRequests,
    userinfoAnswers,
    injectTokenFailures: (...responses) => injected.push(...responses),
    overrides: () => {
      const common = { authorizationEndpoint: `${issuer}/auth`, tokenEndpoint: `${issuer}/token` };
      return {
        claude: { ...common, clientId: 'claude-client', redirectUri: REDIRECTS.claude },
        codex: { ...common, clientId: 'codex-client', redirectUri: REDIRECTS.codex },
        // Gemini keeps its built-in (Google, non-OpenID) scopes.
        gemini: {
          ...common,
          userinfoEndpoint: `${issuer}${GOOGLE_USERINFO}`,
          clientId: 'gemini-client',
          clientSecret: 'gemini-test-client-secret',
          redirectUri: REDIRECTS.gemini,
        },
        bob: {
          ...common,
          userinfoEndpoint: `${issuer}${BOB_PROFILE}`,
          clientId: 'bob-client',
          redirectUri: REDIRECTS.bob,
          scopes: ['bob:inference', 'offline_access'],
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
        unregister();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

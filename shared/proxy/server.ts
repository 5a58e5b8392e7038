import { timingSafeEqual } from 'node:crypto';
import {
  type ClientRequest,
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { guardedLookup, type ResolveHost, systemResolver } from '#shared/net/outbound.ts';
import type { CliProfile } from '#shared/profiles/types.ts';
import { type Fetch, fetchTransport, type KeyfleetClient, keyfleetClient } from '#shared/proxy/client.ts';
import { CredentialKeeper } from '#shared/proxy/credentials.ts';
import { grantFromRedeemed, type ProxyGrant } from '#shared/proxy/grant.ts';
import { agentResponseHeaders, presented, upstreamRequestHeaders } from '#shared/proxy/headers.ts';
import { readRateLimit } from '#shared/proxy/limits.ts';
import { UsageMeter, UsageReporter } from '#shared/proxy/meter.ts';
import { CODEX_REFRESH_PATH, newPlaceholder, proxyProfileFor } from '#shared/proxy/profiles.ts';
import { ReplayCopy } from '#shared/proxy/replay.ts';
import { ROUTES, type UpstreamRoute } from '#shared/proxy/routes.ts';
import { UsageTap } from '#shared/proxy/usage.ts';

export interface ProxyOptions {
  /** Keyfleet's API as the proxy reaches it (`KEYFLEET_URL`). */
  apiUrl: string;
  /** The launch's ticket (`KEYFLEET_TICKET`); the proxy is its only redeemer. */
  ticket: string;
  /** 0 picks a free port. */
  port?: number;
  /** Reaches Keyfleet through this instead of `node:http` (tests, other runtimes). */
  fetch?: Fetch;
  /** Epoch ms; injectable so expiry logic is testable without waiting. */
  now?: () => number;
  reportIntervalMs?: number;
  /** Request bodies up to this size are kept so a request refused with 401 can be sent again. */
  replayLimitBytes?: number;
  /** One line per event; never given bodies, headers or credentials. */
  log?: (message: string) => void;
  /** Told the size of every body chunk relayed either way (the sidecar paces its garbage collection). */
  onRelayed?: (bytes: number) => void;
  /** Resolves upstream host names before the address check; the system resolver by default (tests). */
  resolve?: ResolveHost;
}

export interface RunningProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  grant: Pick<ProxyGrant, 'provider' | 'kind' | 'expiresAt'>;
  /** The agent's profile (placeholders and this proxy's address); also served once at /_keyfleet/profile. */
  profile: CliProfile;
  meter: UsageMeter;
  /** Stops accepting, ends open exchanges, sends the last usage report. */
  close(): Promise<void>;
}

/** The proxy's own routes, never forwarded. */
const INTERNAL_PREFIX = '/_keyfleet/';
const DEFAULT_REPLAY_LIMIT = 1024 * 1024;
const PLACEHOLDER_LIFE_S = 10 * 365 * 24 * 3600;

function defaultLog(message: string): void {
  process.stderr.write(`${JSON.stringify({ service: 'keyfleet-proxy', message })}\n`);
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The upstream whose base path is the longest prefix of `path`; undefined when none is. */
function upstreamFor(upstreams: URL[], path: string): URL | undefined {
  const pathname = path.split('?')[0] ?? '';
  let best: URL | undefined;
  for (const upstream of upstreams) {
    const base = upstream.pathname.replace(/\/$/, '');
    const under = base === '' || pathname === base || pathname.startsWith(`${base}/`);
    if (under && (!best || base.length > best.pathname.replace(/\/$/, '').length)) best = upstream;
  }
  return best;
}

/** Paths that could leave the upstream's base once resolved, or name another host. */
function unsafePath(path: string): boolean {
  const pathname = (path.split('?')[0] ?? '').toLowerCase();
  return !path.startsWith('/') || path.startsWith('//') || /(^|\/)(\.|%2e){1,2}(\/|$)/.test(pathname);
}

/** A Gemini-style `?key=` must not reach the upstream: the credential goes in the header only. */
function withoutKeyParameter(path: string): string {
  const query = path.indexOf('?');
  if (query < 0 || !/[?&]key=/.test(path)) return path;
  const params = new URLSearchParams(path.slice(query + 1));
  params.delete('key');
  const rest = params.toString();
  return `${path.slice(0, query)}${rest ? `?${rest}` : ''}`;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts the credential proxy for one launch: redeems the ticket, keeps the account's credential
 * in memory, and listens on 127.0.0.1. It forwards requests that carry the launch's placeholder to
 * the account's upstream only, with the real credential attached, streaming both ways; renews OAuth
 * access tokens through the task token; counts usage and rate limits and reports them to Keyfleet.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLog;
  const client = keyfleetClient(options.apiUrl, options.fetch ? fetchTransport(options.fetch) : undefined);
  const grant = grantFromRedeemed(await client.redeem(options.ticket));
  return listen(grant, client, { ...options, now, log });
}

type Resolved = ProxyOptions & { now: () => number; log: (message: string) => void };

async function listen(grant: ProxyGrant, client: KeyfleetClient, options: Resolved): Promise<RunningProxy> {
  const route = ROUTES[`${grant.provider}:${grant.kind}`];
  const keeper = new CredentialKeeper(grant, client, options.now, options.log);
  const meter = new UsageMeter();
  const reporter = new UsageReporter(meter, client, () => grant.taskToken.reveal(), options.now, options.log);
  const placeholder = newPlaceholder(grant.provider, grant.kind, options.now());
  // The saved-endpoint rule again after DNS: a name that resolves (or is rebound) to a private,
  // link-local or metadata address never receives the credential. Loopback stays allowed, as the
  // rule allows http on loopback for a local model server.
  const lookup = guardedLookup(options.resolve ?? systemResolver, true);
  const agents = {
    http: new HttpAgent({ keepAlive: true, lookup }),
    https: new HttpsAgent({ keepAlive: true, lookup }),
  };
  const state = { profileServed: false, port: 0, profile: undefined as CliProfile | undefined };
  const context: Context = { grant, route, keeper, meter, placeholder, agents, state, options };

  const server = createServer({ noDelay: true }, (req, res) => {
    handle(context, req, res).catch((error: unknown) => {
      options.log(`request failed: ${(error as Error).name}`);
      if (!res.headersSent) refuse(res, 502, 'upstream_error', 'The proxy could not complete the request.');
      else res.destroy();
    });
  });
  const refuseSocket = (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  };
  server.on('connect', refuseSocket);
  server.on('upgrade', refuseSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${state.port}`;
  state.profile = proxyProfileFor(grant, url, placeholder, options.now());
  keeper.start();
  reporter.start(options.reportIntervalMs);
  let closing: Promise<void> | undefined;
  return {
    url,
    port: state.port,
    grant: { provider: grant.provider, kind: grant.kind, expiresAt: grant.expiresAt },
    profile: state.profile,
    meter,
    close: () => {
      closing ??= shutdown(server, keeper, reporter, agents);
      return closing;
    },
  };
}

async function shutdown(
  server: Server,
  keeper: CredentialKeeper,
  reporter: UsageReporter,
  agents: { http: HttpAgent; https: HttpsAgent },
): Promise<void> {
  keeper.close();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Streams still open get a moment to finish, then are cut: the task is stopping.
  const cut = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(cut);
  agents.http.destroy();
  agents.https.destroy();
  await reporter.close();
}

interface Context {
  grant: ProxyGrant;
  route: UpstreamRoute;
  keeper: CredentialKeeper;
  meter: UsageMeter;
  placeholder: string;
  agents: { http: HttpAgent; https: HttpsAgent };
  state: { profileServed: boolean; port: number; profile: CliProfile | undefined };
  options: Resolved;
}

function ownHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

async function handle(context: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url ?? '';
  // Absolute-form targets, other Host values and escaping paths: never an open proxy.
  if (!ownHost(req.headers.host, context.state.port) || unsafePath(path)) {
    req.resume();
    return refuse(res, 403, 'forbidden', 'This proxy forwards only to its account’s upstream.');
  }
  if (path.startsWith(INTERNAL_PREFIX)) return internal(context, req, res, path);
  const upstream = upstreamFor(context.grant.upstreams, path);
  if (!upstream) {
    req.resume();
    return refuse(res, 403, 'forbidden', 'This path is not under the account’s upstream.');
  }
  if (!sameSecret(presented(req.headers, context.route.credential), context.placeholder)) {
    req.resume();
    return refuse(res, 403, 'forbidden', 'The proxy accepts only this task’s placeholder credential.');
  }
  // Past the launch's end its task token is refused too; an API key must not outlive it here.
  if (context.options.now() >= Date.parse(context.grant.expiresAt)) {
    req.resume();
    return refuse(res, 403, 'task_expired', 'This task’s time is up: the proxy no longer forwards its requests.');
  }
  await forward(context, req, res, upstream, withoutKeyParameter(path));
}

async function internal(context: Context, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { state, grant } = context;
  if (req.method === 'GET' && path === `${INTERNAL_PREFIX}health`) {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ ok: true, provider: grant.provider }));
  }
  if (req.method === 'GET' && path === `${INTERNAL_PREFIX}profile`) {
    req.resume();
    // Served once: the agent's `keyfleet exec` fetches it at start; nobody needs it twice.
    if (state.profileServed) return refuse(res, 410, 'profile_served', 'The agent profile was already fetched.');
    state.profileServed = true;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return void res.end(JSON.stringify(state.profile));
  }
  if (req.method === 'POST' && path === CODEX_REFRESH_PATH && grant.provider === 'codex' && grant.kind === 'oauth') {
    return codexRefresh(context, req, res);
  }
  req.resume();
  refuse(res, 404, 'not_found', 'No such proxy route.');
}

/**
 * Codex's own refresh, sent here by CODEX_REFRESH_TOKEN_URL_OVERRIDE: the CLI holds only the
 * placeholder, so the answer is the placeholder again; on `unauthorized_recovery` the proxy first
 * renews the real token, which is what the CLI's refresh was meant to achieve.
 */
async function codexRefresh(context: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = (await readBody(req, 64 * 1024))?.toString('utf8') ?? '';
  let fields: Record<string, unknown> = {};
  try {
    fields = raw.trim().startsWith('{')
      ? (JSON.parse(raw) as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(raw));
  } catch {
    // Answered below as an invalid grant.
  }
  const token = typeof fields.refresh_token === 'string' ? fields.refresh_token : undefined;
  if (!sameSecret(token, context.placeholder)) {
    res.writeHead(400, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Unknown refresh token.' }));
  }
  if (fields.refresh_reason === 'unauthorized_recovery') await context.keeper.renew(true);
  const p = context.placeholder;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(
    JSON.stringify({
      access_token: p,
      id_token: p,
      refresh_token: p,
      token_type: 'Bearer',
      expires_in: PLACEHOLDER_LIFE_S,
    }),
  );
}

/** One request sent upstream: the request (to stop it) and its answer once the head has arrived. */
interface Sent {
  request: ClientRequest;
  answer: Promise<IncomingMessage>;
}

/**
 * Sends the agent's request upstream with the account's credential: its body streamed as it
 * arrives (`body` undefined) or, when sent again after a 401, the copy kept meanwhile.
 */
function send(
  context: Context,
  exchange: { req: IncomingMessage; res: ServerResponse },
  target: URL,
  credential: string,
  body?: Buffer,
): Sent {
  const { req, res } = exchange;
  const { route, grant, agents } = context;
  const headers = upstreamRequestHeaders(
    req.headers,
    { slot: route.credential, credential, accountHeader: route.accountHeader, accountId: grant.accountId },
    target.host,
  );
  if (body) headers['content-length'] = String(body.length);
  const https = target.protocol === 'https:';
  const request = (https ? httpsRequest : httpRequest)(target, {
    method: req.method,
    headers,
    agent: https ? agents.https : agents.http,
  });
  request.setNoDelay(true);
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    // `on`, not `once`: a later error (the rest of a body the upstream no longer reads) is expected.
    request.on('error', reject);
  });
  res.once('close', () => {
    // The agent went away (mid-upload, while the model thinks, or mid-answer): stop the provider's
    // work too. A finished answer leaves the connection to the keep-alive pool.
    if (!res.writableFinished) request.destroy();
  });
  if (body) return { request: request.end(body), answer };
  const { onRelayed } = context.options;
  if (onRelayed) req.on('data', (chunk: Buffer) => onRelayed(chunk.length));
  req.pipe(request);
  return { request, answer };
}

/**
 * After a 401 on a renewing account: renews the token and sends the request again with the body
 * copied while it streamed; when no copy could be kept (too large, the agent left) or no new token
 * came, passes the 401 on (renewing in the background for the CLI's own retry).
 */
async function retryAfter401(
  context: Context,
  exchange: { req: IncomingMessage; res: ServerResponse },
  target: URL,
  first: Sent,
  answer: IncomingMessage,
  copy: ReplayCopy,
): Promise<IncomingMessage> {
  const { keeper } = context;
  const { req } = exchange;
  if (!req.readableEnded) {
    // The upstream has answered: the rest of the body only goes to the copy (or nowhere).
    req.unpipe(first.request);
    req.resume();
    answer.once('end', () => first.request.destroy());
  }
  const body = copy.keeping ? await copy.whole() : undefined;
  if (!body) {
    void keeper.renew(true);
    return answer;
  }
  if (!(await keeper.renew(true))) return answer;
  answer.resume();
  return send(context, exchange, target, (await keeper.current()).reveal(), body).answer;
}

async function forward(
  context: Context,
  req: IncomingMessage,
  res: ServerResponse,
  upstream: URL,
  path: string,
): Promise<void> {
  const { keeper, options } = context;
  const target = new URL(`${upstream.origin}${path}`);
  const credential = (await keeper.current()).reveal();
  let answer: IncomingMessage;
  try {
    const first = send(context, { req, res }, target, credential);
    // Only a renewing account can cure a 401 by sending again; the copy streams along.
    const copy = keeper.renews ? new ReplayCopy(req, options.replayLimitBytes ?? DEFAULT_REPLAY_LIMIT) : undefined;
    answer = await first.answer;
    if (copy && answer.statusCode === 401)
      answer = await retryAfter401(context, { req, res }, target, first, answer, copy);
    else copy?.release();
  } catch (error) {
    options.log(`upstream unreachable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).name}`);
    return refuse(res, 502, 'upstream_error', 'The proxy could not reach the provider.');
  }
  relay(context, answer, res);
}

/** Streams the answer to the agent as it arrives, reading usage and limits from a copy. */
function relay(context: Context, answer: IncomingMessage, res: ServerResponse): void {
  const { route, meter, options } = context;
  const status = answer.statusCode ?? 502;
  meter.status(status);
  const tap = new UsageTap(route.usage, answer.headers['content-type']);
  res.writeHead(status, agentResponseHeaders(answer.headers));
  res.flushHeaders();
  const { onRelayed } = options;
  answer.on('data', (chunk: Buffer) => {
    tap.write(chunk);
    onRelayed?.(chunk.length);
  });
  answer.once('end', () => {
    tap.end();
    meter.tokens(tap.usage);
    const limit = readRateLimit(route.limits, {
      status,
      headers: answer.headers,
      body: tap.jsonBody,
      now: options.now(),
    });
    if (limit) meter.limited(limit);
  });
  answer.once('error', () => res.destroy());
  res.once('close', () => {
    if (!answer.complete) answer.destroy();
  });
  answer.pipe(res);
}

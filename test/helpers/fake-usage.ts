import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderId } from '#shared/providers/types.ts';
import { resetBeforeEachTest } from '#test/helpers/isolation.ts';

/** One account as the fake providers know it, found by its access token. */
export interface FakeUsageAccount {
  /** Codex: the ChatGPT account id the token belongs to; a request naming another one is refused. */
  chatgptAccountId?: string;
  /** Claude or Codex: the usage answer's body (any JSON, or a raw string sent as it is). */
  usage?: unknown;
  /** Gemini: the Code Assist project; null = not onboarded (loadCodeAssist names none). */
  geminiProject?: string | null;
  geminiTier?: string;
  /** Gemini: `retrieveUserQuota`'s `buckets`. */
  buckets?: unknown;
}

/** A canned answer for a route that replaces the normal one after authentication passed. */
export interface FakeAnswer {
  status?: number;
  /** JSON value, or a string sent as it is (for bodies that are not JSON). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer this much later (a slow endpoint). */
  delayMs?: number;
}

export type FakeUsageRoute = 'claude' | 'codex' | 'loadCodeAssist' | 'retrieveUserQuota';

export interface SeenUsageRequest {
  route: FakeUsageRoute | 'unknown';
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeUsage {
  base: string;
  /** Ready for `readUsage`'s `endpoints` option. */
  endpoints: Record<ProviderId, string | undefined>;
  /** By access token. */
  accounts: Map<string, FakeUsageAccount>;
  /**
   * Asked for a bearer not in `accounts`: the provider knows every token its OAuth server issued,
   * including ones a refresh issued a moment ago (e.g. look the token up in the account's secret).
   */
  lookup: ((accessToken: string) => Promise<FakeUsageAccount | undefined>) | undefined;
  /** Per route, replaces the normal answer (e.g. 429, 500, a body that is not JSON, a delay). */
  answers: Map<FakeUsageRoute, FakeAnswer>;
  seen: SeenUsageRequest[];
  close: () => Promise<void>;
}

const ROUTES: Record<string, FakeUsageRoute> = {
  'GET /api/oauth/usage': 'claude',
  'GET /backend-api/wham/usage': 'codex',
  'POST /v1internal:loadCodeAssist': 'loadCodeAssist',
  'POST /v1internal:retrieveUserQuota': 'retrieveUserQuota',
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The refusal each provider gives, checked in the order the real services check. */
function refusal(
  route: FakeUsageRoute,
  headers: IncomingHttpHeaders,
  account: FakeUsageAccount | undefined,
  body: string,
) {
  const googleError = (code: number, status: string) => ({ error: { code, message: status, status } });
  if (!account) {
    if (route === 'claude')
      return [
        401,
        { type: 'error', error: { type: 'authentication_error', message: 'Invalid bearer token' } },
      ] as const;
    if (route === 'codex') return [401, { detail: 'Could not parse your authentication token.' }] as const;
    return [401, googleError(401, 'UNAUTHENTICATED')] as const;
  }
  if (
    route === 'claude' &&
    !String(headers['anthropic-beta'] ?? '')
      .split(',')
      .includes('oauth-2025-04-20')
  ) {
    const message = 'OAuth authentication is currently not supported.';
    return [401, { type: 'error', error: { type: 'authentication_error', message } }] as const;
  }
  if (route === 'codex' && account.chatgptAccountId && headers['chatgpt-account-id'] !== account.chatgptAccountId) {
    return [403, { detail: 'Account mismatch.' }] as const;
  }
  if (route === 'loadCodeAssist' || route === 'retrieveUserQuota') {
    const json = String(headers['content-type'] ?? '').startsWith('application/json') ? parseJson(body) : undefined;
    if (!json) return [400, googleError(400, 'INVALID_ARGUMENT')] as const;
    if (route === 'loadCodeAssist' && typeof json.metadata !== 'object')
      return [400, googleError(400, 'INVALID_ARGUMENT')] as const;
    if (route === 'retrieveUserQuota' && (!account.geminiProject || json.project !== account.geminiProject)) {
      return [403, googleError(403, 'PERMISSION_DENIED')] as const;
    }
  }
  return undefined;
}

function normalAnswer(route: FakeUsageRoute, account: FakeUsageAccount): unknown {
  if (route === 'claude' || route === 'codex') return account.usage ?? {};
  if (route === 'retrieveUserQuota') return { buckets: account.buckets ?? [] };
  const tier = {
    id: account.geminiTier ?? 'free-tier',
    name: 'Gemini Code Assist',
    userDefinedCloudaicompanionProject: false,
  };
  return account.geminiProject
    ? { currentTier: tier, cloudaicompanionProject: account.geminiProject, allowedTiers: [tier], gcpManaged: false }
    : { allowedTiers: [{ ...tier, isDefault: true }] };
}

/**
 * A loopback server shaped like Claude's `GET /api/oauth/usage`, Codex's `GET
 * /backend-api/wham/usage` and Code Assist's `POST /v1internal:loadCodeAssist` and
 * `:retrieveUserQuota`, as strict as they are: an unknown bearer is 401, Claude without
 * `anthropic-beta: oauth-2025-04-20` is 401, Codex with another `ChatGPT-Account-Id` is 403, Code
 * Assist wants JSON and only answers quotas for the account's own project. It records every request.
 */
export async function startFakeUsage(): Promise<FakeUsage> {
  const accounts = new Map<string, FakeUsageAccount>();
  const answers = new Map<FakeUsageRoute, FakeAnswer>();
  const seen: SeenUsageRequest[] = [];
  const fake: Partial<FakeUsage> & Pick<FakeUsage, 'lookup'> = { accounts, answers, seen, lookup: undefined };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const route = ROUTES[`${req.method} ${path}`];
    seen.push({ route: route ?? 'unknown', method: req.method ?? 'GET', path, headers: req.headers, body });
    if (!route) return send(res, 404, { error: 'not found' });
    const token = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const account = token === undefined ? undefined : (accounts.get(token) ?? (await fake.lookup?.(token)));
    const refused = refusal(route, req.headers, account, body);
    if (refused) return send(res, refused[0], refused[1]);
    const canned = answers.get(route);
    if (canned?.delayMs) await new Promise((resolve) => setTimeout(resolve, canned.delayMs));
    if (res.destroyed) return;
    if (canned && (canned.status !== undefined || canned.body !== undefined)) {
      return send(res, canned.status ?? 200, canned.body ?? {}, canned.headers);
    }
    send(res, 200, normalAnswer(route, account as FakeUsageAccount), canned?.headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Each test sees only its own usage requests.
  const unregister = resetBeforeEachTest(() => {
    seen.length = 0;
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(fake, {
    base,
    endpoints: {
      claude: `${base}/api/oauth/usage`,
      codex: `${base}/backend-api/wham/usage`,
      gemini: `${base}/v1internal`,
      bob: undefined,
      grok: undefined,
    },
    close: () =>
      new Promise<void>((resolve) => {
        unregister();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return fake as FakeUsage;
}

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RedeemedProfile } from '#shared/proxy/grant.ts';

/** The `fetch` a caller may inject to reach Keyfleet (tests, other runtimes). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** One call to Keyfleet as the client makes it: a small JSON exchange. */
export interface Exchange {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** How the client reaches Keyfleet: answers the status and the body as text. */
export type Transport = (exchange: Exchange) => Promise<{ status: number; text: string }>;

/** Usage totals since the proxy started, as `POST /v1/tasks/usage` takes them. */
export interface UsageReport {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  statusCounts: Record<string, number>;
  rateLimit?: { limited: true; resetsAt: string; window?: string };
}

/** Keyfleet's container routes, as the proxy calls them. */
export interface KeyfleetClient {
  redeem(ticket: string): Promise<RedeemedProfile>;
  /** GET /v1/tasks/token; `recover` says the upstream refused the current token. */
  token(taskToken: string, provider: string, recover: boolean): Promise<{ accessToken: string; expiresIn: number }>;
  usage(taskToken: string, report: UsageReport): Promise<void>;
}

const TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The default transport, on `node:http(s)`: the proxy's few calls to Keyfleet do not justify
 * loading a fetch implementation into a sidecar that should stay small.
 */
export const httpTransport: Transport = (exchange) =>
  new Promise((resolve, reject) => {
    const url = new URL(exchange.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: exchange.method, headers: exchange.headers, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(exchange.body);
  });

/** A {@link Transport} over an injected `fetch`. */
export function fetchTransport(fetch: Fetch): Transport {
  return async (exchange) => {
    const response = await fetch(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      ...(exchange.body !== undefined ? { body: exchange.body } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { status: response.status, text: await response.text() };
  };
}

/** An error that names the route and status only: Keyfleet's answer may echo what we sent. */
function failure(route: string, status: number, text: string): Error {
  let code: unknown;
  try {
    code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    code = undefined;
  }
  return new Error(`keyfleet proxy: ${route} answered ${status}${typeof code === 'string' ? ` ${code}` : ''}`);
}

const ok = (status: number) => status >= 200 && status < 300;

/** A {@link KeyfleetClient} for the API at `baseUrl`. */
export function keyfleetClient(baseUrl: string, transport: Transport = httpTransport): KeyfleetClient {
  const base = baseUrl.replace(/\/$/, '');
  const json = { 'content-type': 'application/json' };
  return {
    async redeem(ticket) {
      const answer = await transport({
        method: 'POST',
        url: `${base}/v1/tickets/redeem`,
        headers: json,
        body: JSON.stringify({ ticket }),
      });
      if (!ok(answer.status)) throw failure('ticket redemption', answer.status, answer.text);
      return JSON.parse(answer.text) as RedeemedProfile;
    },
    async token(taskToken, provider, recover) {
      const query = new URLSearchParams({ provider, ...(recover ? { recover: 'true' } : {}) });
      const answer = await transport({
        method: 'GET',
        url: `${base}/v1/tasks/token?${query}`,
        headers: { authorization: `Bearer ${taskToken}` },
      });
      if (!ok(answer.status)) throw failure('token renewal', answer.status, answer.text);
      const body = JSON.parse(answer.text) as { access_token?: unknown; expires_in?: unknown };
      if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
        throw new Error('keyfleet proxy: token renewal answered without access_token and expires_in');
      }
      return { accessToken: body.access_token, expiresIn: body.expires_in };
    },
    async usage(taskToken, report) {
      const answer = await transport({
        method: 'POST',
        url: `${base}/v1/tasks/usage`,
        headers: { ...json, authorization: `Bearer ${taskToken}` },
        body: JSON.stringify(report),
      });
      if (!ok(answer.status)) throw failure('usage report', answer.status, answer.text);
    },
  };
}

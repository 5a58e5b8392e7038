import type { RedeemedProfile } from '#shared/proxy/grant.ts';

/** The `fetch` the proxy uses to reach Keyfleet (injectable for tests). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

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

/** An error that names the route and status only: Keyfleet's answer may echo what we sent. */
function failure(route: string, status: number, code?: string): Error {
  return new Error(`keyfleet proxy: ${route} answered ${status}${code ? ` ${code}` : ''}`);
}

async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

/** A {@link KeyfleetClient} for the API at `baseUrl`. */
export function keyfleetClient(baseUrl: string, fetch: Fetch = globalThis.fetch): KeyfleetClient {
  const base = baseUrl.replace(/\/$/, '');
  return {
    async redeem(ticket) {
      const response = await fetch(`${base}/v1/tickets/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ticket }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) throw failure('ticket redemption', response.status, await errorCode(response));
      return (await response.json()) as RedeemedProfile;
    },
    async token(taskToken, provider, recover) {
      const query = new URLSearchParams({ provider, ...(recover ? { recover: 'true' } : {}) });
      const response = await fetch(`${base}/v1/tasks/token?${query}`, {
        headers: { authorization: `Bearer ${taskToken}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) throw failure('token renewal', response.status, await errorCode(response));
      const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
      if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
        throw new Error('keyfleet proxy: token renewal answered without access_token and expires_in');
      }
      return { accessToken: body.access_token, expiresIn: body.expires_in };
    },
    async usage(taskToken, report) {
      const response = await fetch(`${base}/v1/tasks/usage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${taskToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(report),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) throw failure('usage report', response.status);
    },
  };
}

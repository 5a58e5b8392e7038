import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedeemedProfile } from '#shared/proxy/grant.ts';

/** What the fake saw on `GET /v1/tasks/token`. */
export interface TokenCall {
  authorization: string | undefined;
  query: Record<string, string>;
}

/** A `POST /v1/tasks/usage` as recorded. */
export interface UsageCall {
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

export interface FakeKeyfleet {
  url: string;
  redemptions: unknown[];
  tokenCalls: TokenCall[];
  usageCalls: UsageCall[];
  /** Answers for the next token calls, in order; once empty, 503 `upstream_error`. */
  tokenAnswers: { access_token: string; expires_in: number }[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Keyfleet's container routes as strictly as the real ones answer them, on loopback: the ticket
 * redeems once (then 410 `ticket_used`), `tasks/token` and `tasks/usage` need the task token as a
 * bearer (else 401) and the launch's own provider (else 403). Records every call.
 */
export async function startFakeKeyfleet(ticket: string, profile: RedeemedProfile): Promise<FakeKeyfleet> {
  const fake: Omit<FakeKeyfleet, 'url' | 'close'> = {
    redemptions: [],
    tokenCalls: [],
    usageCalls: [],
    tokenAnswers: [],
  };
  let redeemed = false;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorization = req.headers.authorization;
    const bearerOk = authorization === `Bearer ${profile.taskToken}`;
    if (req.method === 'POST' && url.pathname === '/v1/tickets/redeem') {
      const body = await readJson(req);
      fake.redemptions.push(body);
      if (redeemed || (body as { ticket?: unknown }).ticket !== ticket) {
        return json(res, 410, { error: { code: 'ticket_used', message: 'This ticket was already used.' } });
      }
      redeemed = true;
      return json(res, 200, profile);
    }
    if (req.method === 'GET' && url.pathname === '/v1/tasks/token') {
      fake.tokenCalls.push({ authorization, query: Object.fromEntries(url.searchParams) });
      if (!bearerOk) return json(res, 401, { error: { code: 'unauthorized', message: 'Unknown task token.' } });
      if (url.searchParams.get('provider') !== profile.provider) {
        return json(res, 403, { error: { code: 'forbidden', message: 'This task token is for another provider.' } });
      }
      const next = fake.tokenAnswers.shift();
      if (!next) return json(res, 503, { error: { code: 'upstream_error', message: 'No token now.' } });
      return json(res, 200, next);
    }
    if (req.method === 'POST' && url.pathname === '/v1/tasks/usage') {
      const body = await readJson(req);
      fake.usageCalls.push({ authorization, contentType: req.headers['content-type'], body });
      return bearerOk ? json(res, 204) : json(res, 401, { error: { code: 'unauthorized', message: 'No.' } });
    }
    json(res, 404, { error: { code: 'not_found', message: 'No such route.' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...fake,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as FakeKeyfleet;
}

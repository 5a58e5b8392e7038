import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resetBeforeEachTest } from '#test/helpers/isolation.ts';

export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeProviderApi {
  base: string;
  seen: SeenRequest[];
  /** Keys that authenticate; any other key gets 401. */
  validKeys: Set<string>;
  /** Canned JSON per path (POST helpers use this); default `{ data: [] }`. */
  answers: Map<string, { status: number; body: unknown }>;
  close: () => Promise<void>;
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
  return (
    bearer ??
    (headers['x-api-key'] as string) ??
    (headers['x-goog-api-key'] as string) ??
    (headers['api-key'] as string)
  );
}

/** One loopback server standing in for every provider's HTTP API; it records exactly what it was sent. */
export async function startFakeProviderApi(): Promise<FakeProviderApi> {
  const seen: SeenRequest[] = [];
  const validKeys = new Set<string>();
  const answers = new Map<string, { status: number; body: unknown }>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const key = presentedKey(req.headers);
    const canned = answers.get(url.pathname);
    res.setHeader('content-type', 'application/json');
    if (key !== undefined && !validKeys.has(key)) {
      res.writeHead(401);
      res.end(JSON.stringify({ error: { message: 'invalid key' } }));
      return;
    }
    res.writeHead(canned?.status ?? 200);
    res.end(JSON.stringify(canned?.body ?? { data: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Each test sees only its own requests.
  const unregister = resetBeforeEachTest(() => {
    seen.length = 0;
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    validKeys,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        unregister();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

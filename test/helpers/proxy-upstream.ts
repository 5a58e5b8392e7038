import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Responder = (request: SeenRequest, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export interface RecordingUpstream {
  base: string;
  host: string;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Replaces how the upstream answers from now on. */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

/** Server-Sent Events as the providers write them. */
export function sse(events: [string | null, unknown][]): string {
  return events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`).join('');
}

const okJson: Responder = (_request, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};

/**
 * A provider's API host on loopback that records every request (method, path, headers, body) and
 * counts connections, so tests can prove what reached it and that nothing did.
 */
export async function startRecordingUpstream(responder: Responder = okJson): Promise<RecordingUpstream> {
  const requests: SeenRequest[] = [];
  let current = responder;
  let connections = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(seen);
    await current(seen, res, req);
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base: `http://${host}`,
    host,
    requests,
    connections: () => connections,
    respond: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** AWS calls by service and operation, as counted at the endpoint. */
export type CallCounts = Record<string, number>;

export interface CountingProxy {
  endpoint: string;
  /** Calls since the last reset, keyed `<service>.<Operation>`. */
  counts: () => CallCounts;
  reset: () => void;
  close: () => Promise<void>;
}

/**
 * An HTTP proxy on loopback in front of a local AWS endpoint: forwards every request unchanged
 * and counts it by the operation in its `X-Amz-Target` header (DynamoDB and Secrets Manager both
 * speak the AWS JSON protocol), so the bench counts what reached the service, not what the code
 * meant to send.
 */
export async function startCountingProxy(service: string, upstream: string, tally: CallCounts): Promise<CountingProxy> {
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown')
      .split('.')
      .pop();
    const key = `${service}.${operation}`;
    tally[key] = (tally[key] ?? 0) + 1;
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ ...tally }),
    reset: () => {
      for (const key of Object.keys(tally)) delete tally[key];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The total of `counts`, optionally only for one service. */
export function totalCalls(counts: CallCounts, service?: string): number {
  return Object.entries(counts)
    .filter(([key]) => service === undefined || key.startsWith(`${service}.`))
    .reduce((sum, [, n]) => sum + n, 0);
}

import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplayCopy } from '#shared/proxy/replay.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A loopback server that hands each incoming request to a ReplayCopy with `limit`, and an agent
 * that sends it a chunked body piece by piece.
 */
async function copying(limit: number) {
  const arrived: ((copy: ReplayCopy) => void)[] = [];
  const server = createServer((req: IncomingMessage) => {
    arrived.shift()?.(new ReplayCopy(req, limit));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  const next = new Promise<ReplayCopy>((resolve) => arrived.push(resolve));
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/',
    headers: { 'transfer-encoding': 'chunked' },
  });
  req.on('error', () => {
    // The agent is cut off on purpose in one case.
  });
  req.flushHeaders();
  return { req, copy: await next };
}

describe('ReplayCopy', () => {
  it('resolves the whole body once the agent has sent all of it', async () => {
    const { req, copy } = await copying(64);
    req.write('{"a":');
    req.end('1}');
    expect((await copy.whole())?.toString('utf8')).toBe('{"a":1}');
    expect(copy.keeping).toBe(true);
  });

  it('gives up as soon as the body grows past the limit, before the agent has finished', async () => {
    const { req, copy } = await copying(8);
    req.write('0123456789');
    expect(await copy.whole()).toBeUndefined();
    expect(copy.keeping).toBe(false);
    req.end();
  });

  it('gives up when the agent goes away mid-body', async () => {
    const { req, copy } = await copying(1024);
    req.write('{"partial":', () => req.destroy());
    expect(await copy.whole()).toBeUndefined();
  });

  it('drops what it kept once released (the answer was not a 401)', async () => {
    const { req, copy } = await copying(1024);
    req.write('{"a":');
    copy.release();
    req.end('1}');
    expect(await copy.whole()).toBeUndefined();
    expect(copy.keeping).toBe(false);
  });
});

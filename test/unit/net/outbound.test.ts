import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type LookupFunction } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  guardedLookup,
  OutboundTimeoutError,
  outboundFailure,
  outboundRequest,
  type ResolveHost,
} from '#shared/net/outbound.ts';
import { type CountingListener, installTripwire, startCountingListener } from '#test/security/ssrf-listener.ts';
import { RESOLVED } from '#test/security/ssrf-table.ts';

/** A resolver that answers from a fixed table and records every name it was asked. */
function fixedResolver(answers: Record<string, LookupAddress[]>): ResolveHost & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    asked.push(hostname);
    const found = answers[hostname];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(resolve, { asked });
}

function lookupAll(lookup: LookupFunction, hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, ((error: Error | null, addresses: LookupAddress[]) =>
      error ? reject(error) : resolve(addresses)) as never);
  });
}

describe('guardedLookup', () => {
  it.each(
    RESOLVED.flatMap((r) => [
      [r.address, true, r.kind === 'special'] as const,
      [r.address, false, r.kind !== 'public'] as const,
    ]),
  )('a name resolving to %s (loopback allowed: %s) is refused: %s', async (address, allowLoopback, refused) => {
    const answer = { address, family: address.includes(':') ? 6 : 4 };
    const resolve = fixedResolver({ 'svc.example.test': [answer] });
    const result = lookupAll(guardedLookup(resolve, allowLoopback), 'svc.example.test');
    if (refused) await expect(result).rejects.toBeInstanceOf(BlockedAddressError);
    else await expect(result).resolves.toEqual([answer]);
    expect(resolve.asked).toEqual(['svc.example.test']);
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const resolve = fixedResolver({
      'mixed.example.test': [
        { address: '93.184.215.14', family: 4 },
        { address: '::ffff:169.254.169.254', family: 6 },
      ],
    });
    await expect(lookupAll(guardedLookup(resolve, true), 'mixed.example.test')).rejects.toThrow(
      'mixed.example.test resolves to ::ffff:169.254.169.254, a private, link-local, metadata or other special-purpose address',
    );
  });

  it('answers only the family the socket asked for', async () => {
    const resolve = fixedResolver({
      'dual.example.test': [
        { address: '2606:4700:4700::1111', family: 6 },
        { address: '1.1.1.1', family: 4 },
      ],
    });
    const address = await new Promise<string>((done, fail) =>
      guardedLookup(resolve, false)('dual.example.test', { family: 4 }, (error, value) =>
        error ? fail(error) : done(value as string),
      ),
    );
    expect(address).toBe('1.1.1.1');
  });
});

describe('outboundRequest', () => {
  let listener: CountingListener;
  let tripwire: ReturnType<typeof installTripwire>;
  const previous = process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS;

  beforeAll(async () => {
    listener = await startCountingListener();
    tripwire = installTripwire();
  });
  afterAll(async () => {
    tripwire.uninstall();
    await listener.close();
  });
  afterEach(() => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = previous;
  });

  it('connects to a name the injected resolver maps to loopback when loopback is allowed', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
    const resolve = fixedResolver({ 'models.example.test': [{ address: '127.0.0.1', family: 4 }] });
    const response = await outboundRequest(new URL(`http://models.example.test:${listener.port}/v1/models`), {
      resolve,
    });
    expect(response).toMatchObject({ status: 200, body: '{"data":[]}' });
    expect(resolve.asked).toEqual(['models.example.test']);
    expect(listener.connections()).toBe(1);
  });

  it.each([
    ['loopback, by name, when loopback is not allowed', 'false', [{ address: '127.0.0.1', family: 4 }]],
    ['mapped loopback, when loopback is not allowed', 'false', [{ address: '::ffff:127.0.0.1', family: 6 }]],
    [
      'loopback first, then metadata',
      'true',
      [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
    ],
    [
      'loopback first, then link-local with a zone id',
      'true',
      [
        { address: '127.0.0.1', family: 4 },
        { address: 'fe80::1%eth0', family: 6 },
      ],
    ],
  ])('refuses a name resolving to %s without connecting', async (_what, allow, answers) => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = allow;
    const before = listener.connections();
    const resolve = fixedResolver({ 'rebind.example.test': answers });
    await expect(
      outboundRequest(new URL(`http://rebind.example.test:${listener.port}/`), { resolve }),
    ).rejects.toBeInstanceOf(BlockedAddressError);
    expect(listener.connections() - before).toBe(0);
  });

  it('refuses IP-literal hosts before opening a socket', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    const before = listener.connections();
    for (const host of ['[::ffff:127.0.0.1]', '2130706433', '169.254.169.254', '[64:ff9b::a9fe:a9fe]']) {
      await expect(outboundRequest(new URL(`http://${host}:${listener.port}/`))).rejects.toBeInstanceOf(
        BlockedAddressError,
      );
    }
    expect(listener.connections() - before).toBe(0);
    expect(tripwire.stopped).toEqual([]);
  });
});

describe('outboundFailure', () => {
  let closedPort: number;
  let plain: HttpServer;
  let plainPort: number;
  const previous = process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS;

  beforeAll(async () => {
    const probe = createTcpServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((done) => probe.close(() => done()));
    plain = createHttpServer((_req, res) => res.end());
    await new Promise<void>((done) => plain.listen(0, '127.0.0.1', done));
    plainPort = (plain.address() as { port: number }).port;
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
  });
  afterAll(async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = previous;
    plain.closeAllConnections();
    await new Promise<void>((done) => plain.close(() => done()));
  });

  const failureOf = async (url: string, resolve?: ResolveHost) =>
    outboundFailure(await outboundRequest(new URL(url), resolve ? { resolve } : {}).catch((e: unknown) => e));

  it('says "could not connect" for a refused connection', async () => {
    expect(await failureOf(`http://127.0.0.1:${closedPort}/`)).toBe('could not connect');
  });

  it('says "TLS handshake failed" when the peer does not speak TLS', async () => {
    expect(await failureOf(`https://127.0.0.1:${plainPort}/`)).toBe('TLS handshake failed');
  });

  it('says "host name not found" when the name does not resolve', async () => {
    expect(await failureOf('https://nowhere.example.test/', fixedResolver({}))).toBe('host name not found');
  });

  it('says "address not allowed" for a refused address', async () => {
    expect(await failureOf('https://[::ffff:10.0.0.1]/')).toBe('address not allowed');
  });

  it.each([
    [new OutboundTimeoutError('request timed out'), 'timed out'],
    [Object.assign(new Error('connect ETIMEDOUT 203.0.113.5:443'), { code: 'ETIMEDOUT' }), 'timed out'],
    [
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      'TLS handshake failed',
    ],
    [
      Object.assign(new Error('Hostname/IP does not match'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      'TLS handshake failed',
    ],
    [Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }), 'TLS handshake failed'],
    [
      Object.assign(new Error('Parse Error: Expected HTTP/'), { code: 'HPE_INVALID_CONSTANT' }),
      'invalid HTTP response',
    ],
    [new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), 'could not connect'],
    [new Error('socket hang up'), 'could not connect'],
  ])('maps %s to %s', (error, failure) => {
    expect(outboundFailure(error)).toBe(failure);
  });
});

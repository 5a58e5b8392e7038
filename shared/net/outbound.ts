import type { LookupAddress } from 'node:dns';
import { lookup as systemLookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedHost } from '#shared/net/urls.ts';

/**
 * HTTP calls to endpoints that users configured (account tests, helpers). The address actually
 * connected to is checked, after DNS, so a name that resolves to the metadata service or a private
 * range is refused even if it changes between checks. Loopback is allowed only when
 * `KEYFLEET_ALLOW_LOOPBACK_CALLS=true` (local mode and tests).
 */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
}

/** The endpoint stopped answering for longer than the request's timeout. */
export class OutboundTimeoutError extends Error {
  override readonly name = 'OutboundTimeoutError';
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Every address a host name resolves to; tests inject their own, the connection stays real. */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The system resolver (getaddrinfo, as Node's own connect would use). */
export const systemResolver: ResolveHost = (hostname) => systemLookup(hostname, { all: true, verbatim: true });

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** Defaults to {@link systemResolver}. */
  resolve?: ResolveHost;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Whether outbound calls may reach loopback: local mode and tests only, never a deployed function.
 * Read here on each call, not in `shared/config.ts`: config validates URLs with `shared/net`, so
 * reading it there would tie the two areas into an import cycle, and tests switch it per call.
 */
export function loopbackAllowed(): boolean {
  return process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS === 'true';
}

function wantedFamily(family: number | string | undefined): 4 | 6 | undefined {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

/**
 * A `lookup` for sockets that resolves through `resolve` and refuses the connection when any
 * address of the name is refused by {@link refusedHost}: nothing connects to a name that has a
 * private, metadata or (outside local mode) loopback address among its answers.
 */
export function guardedLookup(resolve: ResolveHost, allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const fail = (error: Error) => callback(error as NodeJS.ErrnoException, '', 0);
    resolve(hostname).then((addresses) => {
      for (const { address } of addresses) {
        const reason = refusedHost(address, allowLoopback);
        if (reason) return fail(new BlockedAddressError(`${hostname} resolves to ${address}, ${reason}`));
      }
      const family = wantedFamily(options.family);
      const list = addresses.filter((a) => isIP(a.address) === a.family && (!family || a.family === family));
      if (list.length === 0) {
        return fail(Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }));
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const [first] = list as [LookupAddress];
      callback(null, first.address, first.family);
    }, fail);
  };
}

/**
 * One request with a timeout; the body is read up to 1 MiB. IP-literal hosts are checked here
 * (sockets skip `lookup` for them); names are checked after DNS by {@link guardedLookup}.
 */
export function outboundRequest(url: URL, init: OutboundInit = {}): Promise<OutboundResponse> {
  const allowLoopback = loopbackAllowed();
  const refused = refusedHost(url.hostname, allowLoopback);
  if (refused) return Promise.reject(new BlockedAddressError(`${url.hostname} is ${refused}`));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const lookup = guardedLookup(init.resolve ?? systemResolver, allowLoopback);
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: init.method ?? 'GET', headers: init.headers, lookup, timeout: init.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new OutboundTimeoutError('request timed out')));
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/**
 * What a caller may be told about a failed call: a short fixed phrase, never socket or TLS error
 * text (which names addresses, ports and certificates). The error itself belongs in the log.
 */
export type OutboundFailure =
  | 'address not allowed'
  | 'host name not found'
  | 'could not connect'
  | 'TLS handshake failed'
  | 'timed out'
  | 'invalid HTTP response';

const TLS_CODE =
  /^ERR_(TLS|SSL)_|CERT|CRL|SIGNATURE|^INVALID_CA$|^EPROTO$|HOSTNAME_MISMATCH|PATH_LENGTH|INVALID_PURPOSE/;

/** Maps an error from {@link outboundRequest} to the fixed vocabulary. */
export function outboundFailure(error: unknown): OutboundFailure {
  if (error instanceof BlockedAddressError) return 'address not allowed';
  if (error instanceof OutboundTimeoutError) return 'timed out';
  const first = error instanceof AggregateError ? error.errors[0] : undefined;
  const code = String((error as { code?: unknown })?.code ?? (first as { code?: unknown })?.code ?? '');
  if (code === 'ETIMEDOUT') return 'timed out';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'ENODATA') {
    return 'host name not found';
  }
  if (TLS_CODE.test(code)) return 'TLS handshake failed';
  if (code.startsWith('HPE_')) return 'invalid HTTP response';
  return 'could not connect';
}

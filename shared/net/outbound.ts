import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackHost, isPrivateOrLinkLocalAddress } from '#shared/net/urls.ts';

/**
 * HTTP calls to endpoints that users configured (account tests, helpers). The address actually
 * connected to is checked, after DNS, so a name that resolves to the metadata service or a private
 * range is refused even if it changes between checks. Loopback is allowed only when
 * `KEYFLEET_ALLOW_LOOPBACK_CALLS=true` (local mode and tests).
 */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function loopbackAllowed(): boolean {
  return process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS === 'true';
}

function blocked(address: string): string | undefined {
  if (isLoopbackHost(address)) return loopbackAllowed() ? undefined : 'loopback';
  if (isPrivateOrLinkLocalAddress(address)) return 'private or link-local';
  return undefined;
}

const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as LookupAddress[];
    for (const { address } of list) {
      const reason = blocked(address);
      if (reason) return callback(new BlockedAddressError(`${hostname} resolves to a ${reason} address`), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0];
    if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};

/** One request with a timeout; the body is read up to 1 MiB. */
export function outboundRequest(
  url: URL,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<OutboundResponse> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) || host === 'localhost') {
    const reason = blocked(host);
    if (reason) return Promise.reject(new BlockedAddressError(`${host} is a ${reason} address`));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: init.method ?? 'GET', headers: init.headers, lookup: guardedLookup, timeout: init.timeoutMs ?? 10_000 },
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
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

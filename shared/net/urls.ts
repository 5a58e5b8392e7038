import { isIP } from 'node:net';

/**
 * Rules for URLs that Keyfleet will call or hand to a CLI.
 * `https:` is always accepted; `http:` only when the host is a loopback address or `localhost`
 * (local servers and tests). Credentials in the URL are refused: a key in a URL ends up in logs.
 */
export function checkEndpointUrl(value: string): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'is not a valid absolute URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (url.protocol === 'https:') return { ok: true, url };
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return { ok: true, url };
    return { ok: false, reason: 'must use https:// (http:// is accepted only for loopback hosts)' };
  }
  return { ok: false, reason: 'must use https://' };
}

/** `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Addresses an outbound call must never reach from a Lambda: link-local (including the
 * 169.254.169.254 metadata service), private ranges, unspecified, and IPv6 equivalents.
 * Loopback is reported separately so local mode can allow it.
 */
export function isPrivateOrLinkLocalAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(host) === 6) {
    if (host === '::') return true;
    if (host.startsWith('fe8') || host.startsWith('fe9') || host.startsWith('fea') || host.startsWith('feb'))
      return true;
    if (host.startsWith('fc') || host.startsWith('fd')) return true;
    if (host.startsWith('fd00:ec2')) return true;
    const mapped = host.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped?.[1]) return isPrivateOrLinkLocalAddress(mapped[1]) || mapped[1].startsWith('127.');
  }
  return false;
}

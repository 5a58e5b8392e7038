import { BlockList, isIP } from 'node:net';

/**
 * Where an address or host leads. `public` for a host name means only "not refused by name": the
 * addresses it resolves to are decided again, one by one, at connect time.
 */
export type AddressClass = 'public' | 'loopback' | 'special';

function blockList(family: 'ipv4' | 'ipv6', subnets: readonly (readonly [string, number])[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, family);
  return list;
}

// One list per family: a BlockList matches IPv4 addresses against IPv6 rules such as ::ffff:0:0/96.
const LOOPBACK_V4 = blockList('ipv4', [['127.0.0.0', 8]]);

/** IANA special-purpose IPv4 ranges (and multicast, reserved, broadcast), loopback aside. */
const SPECIAL_V4 = blockList('ipv4', [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['255.255.255.255', 32],
]);

/** IANA special-purpose IPv6 ranges, deprecated site-local and multicast, loopback aside. */
const SPECIAL_V6 = blockList('ipv6', [
  ['::', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fd00:ec2::', 32],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
]);

/** Only 2000::/3 is global unicast; everything outside it has no business being an API endpoint. */
const GLOBAL_UNICAST_V6 = blockList('ipv6', [['2000::', 3]]);

/** Cloud metadata services by name (their addresses are in the lists above). */
const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

function classifyV4(address: string): AddressClass {
  if (LOOPBACK_V4.check(address, 'ipv4')) return 'loopback';
  if (SPECIAL_V4.check(address, 'ipv4')) return 'special';
  return 'public';
}

/** The eight 16-bit groups of a valid IPv6 address (without zone id). */
function groupsOf(address: string): number[] {
  let text = address;
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted?.[1] && dotted[2]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[2].split('.').map(Number);
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function v4From(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

type Carrier = 'mapped' | 'compatible' | 'nat64' | 'tunnel';

/** The IPv4 addresses an IPv6 address carries, and how it carries them. */
function embeddedV4(g: number[]): { carrier: Carrier; v4: string[] } | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  const last = [v4From(g6, g7)];
  if (zeroTo(5) && g5 === 0xffff) return { carrier: 'mapped', v4: last };
  // ::ffff:0:a.b.c.d (SIIT "IPv4-translated") and ::a.b.c.d (IPv4-compatible) are deprecated forms.
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return { carrier: 'compatible', v4: last };
  if (zeroTo(6)) return { carrier: 'compatible', v4: last };
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return { carrier: 'nat64', v4: last };
  }
  if (g0 === 0x2002) return { carrier: 'tunnel', v4: [v4From(g1, g2)] };
  if (g0 === 0x2001 && g1 === 0) {
    // Teredo: server IPv4 in plain, client IPv4 inverted in the last 32 bits.
    return { carrier: 'tunnel', v4: [v4From(g2, g3), v4From(g6 ^ 0xffff, g7 ^ 0xffff)] };
  }
  return undefined;
}

function classifyV6(address: string): AddressClass {
  const groups = groupsOf(address);
  if (groups.slice(0, 7).every((x) => x === 0) && groups[7] === 1) return 'loopback';
  const embedded = embeddedV4(groups);
  if (embedded) {
    const inner = embedded.v4.map(classifyV4);
    // Mapped and compatible forms reach the IPv4 address itself; tunnels reach a gateway, never this host.
    if (inner.includes('loopback'))
      return embedded.carrier === 'tunnel' || embedded.carrier === 'nat64' ? 'special' : 'loopback';
    if (inner.includes('special')) return 'special';
    return embedded.carrier === 'mapped' || embedded.carrier === 'nat64' ? 'public' : 'special';
  }
  if (SPECIAL_V6.check(address, 'ipv6')) return 'special';
  return GLOBAL_UNICAST_V6.check(address, 'ipv6') ? 'public' : 'special';
}

/**
 * Classifies one IP address as the socket layer would see it (brackets and zone ids allowed).
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are decided on
 * the IPv4 address they carry. Anything that is not an IP address is `special`.
 */
export function classifyAddress(address: string): AddressClass {
  const bare = address
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '')
    .toLowerCase();
  const family = isIP(bare);
  if (family === 4) return classifyV4(bare);
  if (family === 6) return classifyV6(bare);
  return 'special';
}

/**
 * Classifies a URL host or a bare host string. IPv4 spellings are normalised as the WHATWG URL
 * parser does (`2130706433`, `0x7f.1`, `017700000001`, `127.1`), trailing dots are ignored, and
 * `localhost` names are loopback. Other names are `public` here and decided after DNS.
 */
export function classifyHost(host: string): AddressClass {
  const text = host.trim().toLowerCase();
  if (text.includes(':')) return classifyAddress(text);
  let name: string;
  try {
    name = new URL(`http://${text}/`).hostname;
  } catch {
    return 'special';
  }
  name = name.replace(/\.+$/, '');
  if (isIP(name)) return classifyAddress(name);
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  if (METADATA_NAMES.has(name)) return 'special';
  return 'public';
}

/**
 * The one address check, used when an endpoint is saved and again at connect time for every
 * address a name resolves to. Returns why the host is refused, or undefined when it may be called.
 */
export function refusedHost(host: string, allowLoopback: boolean): string | undefined {
  const kind = classifyHost(host);
  if (kind === 'special') return 'a private, link-local, metadata or other special-purpose address';
  if (kind === 'loopback' && !allowLoopback) return 'a loopback address';
  return undefined;
}

/** `localhost` names and every loopback spelling (127.0.0.0/8, ::1, ::ffff:127.0.0.1, …). */
export function isLoopbackHost(hostname: string): boolean {
  return classifyHost(hostname) === 'loopback';
}

/**
 * Rules for URLs that Keyfleet will call or hand to a CLI.
 * `https:` is accepted for public and loopback hosts; `http:` only for loopback hosts (local servers
 * and tests). Private, link-local, metadata and other special-purpose addresses are refused.
 * Credentials in the URL are refused: a key in a URL ends up in logs.
 */
export function checkEndpointUrl(value: string): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'is not a valid absolute URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'must use https://' };
  const kind = classifyHost(url.hostname);
  if (url.protocol === 'http:' && kind !== 'loopback') {
    return { ok: false, reason: 'must use https:// (http:// is accepted only for loopback hosts)' };
  }
  const refused = refusedHost(url.hostname, true);
  if (refused) return { ok: false, reason: `points at ${refused}` };
  return { ok: true, url };
}

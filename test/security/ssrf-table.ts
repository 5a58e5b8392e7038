import type { AddressClass } from '#shared/net/urls.ts';

/** One way of writing a host in a URL, and where it really leads. */
export interface Spelling {
  /** The host as written in `scheme://<host>/`. */
  host: string;
  kind: AddressClass;
  form: string;
}

const special = (form: string, ...hosts: string[]): Spelling[] =>
  hosts.map((host) => ({ host, kind: 'special', form }));
const loopback = (form: string, ...hosts: string[]): Spelling[] =>
  hosts.map((host) => ({ host, kind: 'loopback', form }));
const open = (form: string, ...hosts: string[]): Spelling[] => hosts.map((host) => ({ host, kind: 'public', form }));

/**
 * Host spellings a URL may carry. Teredo addresses use the server 65.54.227.120 (4136:e378) and
 * the client's IPv4 inverted: 10.0.0.1 → f5ff:fffe, 127.0.0.1 → 80ff:fffe, 8.8.8.8 → f7f7:f7f7.
 */
export const SPELLINGS: readonly Spelling[] = [
  ...special('metadata, dotted', '169.254.169.254', '169.254.169.254.', '169.254.0.1'),
  ...special('metadata, decimal', '2852039166'),
  ...special('metadata, hex', '0xa9.0xfe.0xa9.0xfe', '0xa9fea9fe'),
  ...special('metadata, octal', '0251.0376.0251.0376'),
  ...special('metadata, short form', '169.254.43518'),
  ...special('metadata, by name', 'metadata.google.internal', 'METADATA.google.internal.', 'instance-data'),
  ...special('private, dotted', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1'),
  ...special('private, other spellings', '10.1', '012.0.0.1', '167772161', '0x0a000001', '0xc0.0xa8.1.1'),
  ...special('unspecified', '0.0.0.0', '0', '[::]'),
  ...special('IETF protocol assignments', '192.0.0.1', '192.0.0.170'),
  ...special('documentation', '192.0.2.1', '198.51.100.7', '203.0.113.9', '[2001:db8::1]', '[3fff::1]'),
  ...special('6to4 relay anycast', '192.88.99.1'),
  ...special('benchmarking', '198.18.0.1', '198.19.255.255'),
  ...special('multicast', '224.0.0.1', '239.255.255.250', '[ff02::1]'),
  ...special('reserved and broadcast', '240.0.0.1', '255.255.255.255'),
  ...special(
    'IPv4-mapped IPv6',
    '[::ffff:169.254.169.254]',
    '[::ffff:a9fe:a9fe]',
    '[0:0:0:0:0:ffff:a9fe:a9fe]',
    '[::ffff:10.0.0.1]',
    '[::ffff:192.168.1.1]',
    '[::ffff:0.0.0.0]',
  ),
  ...special('IPv4-translated IPv6', '[::ffff:0:a9fe:a9fe]'),
  ...special('IPv4-compatible IPv6', '[::10.0.0.1]', '[::a9fe:a9fe]', '[::8.8.8.8]'),
  ...special('NAT64', '[64:ff9b::a9fe:a9fe]', '[64:ff9b::10.0.0.1]', '[64:ff9b::127.0.0.1]', '[64:ff9b:1::a00:1]'),
  ...special('6to4', '[2002:a9fe:a9fe::]', '[2002:7f00:1::1]', '[2002:808:808::1]'),
  ...special(
    'Teredo',
    '[2001:0:4136:e378:8000:63bf:f5ff:fffe]',
    '[2001:0:4136:e378:8000:63bf:80ff:fffe]',
    '[2001:0:4136:e378:8000:63bf:f7f7:f7f7]',
  ),
  ...special('IPv6 unique local', '[fc00::1]', '[fd12:3456::1]', '[fd00:ec2::254]'),
  ...special('IPv6 link-local and site-local', '[fe80::1]', '[febf::1]', '[fec0::1]'),
  ...special('IPv6 special-purpose', '[100::1]', '[2001:2::1]', '[5f00::1]', '[4000::1]'),
  ...loopback('loopback, dotted', '127.0.0.1', '127.0.0.1.', '127.255.255.254', '127.8.9.1'),
  ...loopback('loopback, short form', '127.1', '127.0.1'),
  ...loopback('loopback, decimal', '2130706433'),
  ...loopback('loopback, hex', '0x7f.1', '0x7f000001', '0x7f.0x0.0x0.0x1'),
  ...loopback('loopback, octal', '017700000001', '0177.0.0.1'),
  ...loopback('loopback, IPv6', '[::1]', '[0:0:0:0:0:0:0:1]'),
  ...loopback('loopback, IPv4-mapped', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::ffff:127.1.2.3]'),
  ...loopback('loopback, IPv4-compatible', '[::127.0.0.1]'),
  ...loopback('loopback, by name', 'localhost', 'localhost.', 'LOCALHOST', 'api.localhost'),
  ...open('public IPv4', '8.8.8.8', '1.1.1.1', '134744072', '0x08080808', '172.32.0.1', '100.128.0.1'),
  ...open('public IPv4 next to special ranges', '169.255.0.1', '11.0.0.1', '198.20.0.1', '223.255.255.255'),
  ...open('public IPv6', '[2606:4700:4700::1111]', '[2001:4860:4860::8888]', '[2a05:d018::1]'),
  ...open('public IPv4, mapped or NAT64', '[::ffff:8.8.8.8]', '[64:ff9b::808:808]'),
  ...open('public names', 'api.example.com', 'api.example.com.', 'generativelanguage.googleapis.com'),
];

/** Addresses as a resolver may answer them, zone ids included. */
export const RESOLVED: readonly { address: string; family: 4 | 6; kind: AddressClass }[] = [
  { address: '169.254.169.254', family: 4, kind: 'special' },
  { address: '10.0.0.1', family: 4, kind: 'special' },
  { address: '::ffff:169.254.169.254', family: 6, kind: 'special' },
  { address: '::ffff:10.0.0.1', family: 6, kind: 'special' },
  { address: 'fe80::1%eth0', family: 6, kind: 'special' },
  { address: 'fe80::a9fe:a9fe%2', family: 6, kind: 'special' },
  { address: 'fd00:ec2::254', family: 6, kind: 'special' },
  { address: '64:ff9b::a9fe:a9fe', family: 6, kind: 'special' },
  { address: '127.0.0.1', family: 4, kind: 'loopback' },
  { address: '::1', family: 6, kind: 'loopback' },
  { address: '::1%lo', family: 6, kind: 'loopback' },
  { address: '::ffff:127.0.0.1', family: 6, kind: 'loopback' },
  { address: '93.184.215.14', family: 4, kind: 'public' },
  { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6, kind: 'public' },
];

/** Spellings that must be refused: everything special, and loopback where loopback is not allowed. */
export const refusedSpellings = (allowLoopback: boolean): Spelling[] =>
  SPELLINGS.filter((s) => s.kind === 'special' || (s.kind === 'loopback' && !allowLoopback));

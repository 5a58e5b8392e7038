import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, classifyAddress, classifyHost, isLoopbackHost, refusedHost } from '#shared/net/urls.ts';
import { RESOLVED, SPELLINGS } from '#test/security/ssrf-table.ts';

describe('classifyHost', () => {
  it.each(SPELLINGS.map((s) => [s.host, s.form, s.kind] as const))('%s (%s) is %s', (host, _form, kind) => {
    expect(classifyHost(host)).toBe(kind);
  });

  it.each(SPELLINGS.map((s) => [s.host, s.kind] as const))(
    '%s is %s after the URL parser has normalised it',
    (host, kind) => {
      expect(classifyHost(new URL(`https://${host}:8443/x`).hostname)).toBe(kind);
    },
  );

  it('refuses what it cannot parse as a host', () => {
    expect(classifyHost('exa mple.com')).toBe('special');
    expect(classifyHost('[::ffff:zz]')).toBe('special');
  });
});

describe('classifyAddress', () => {
  it.each(RESOLVED.map((r) => [r.address, r.kind] as const))('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('treats anything that is not an IP address as special', () => {
    expect(classifyAddress('example.com')).toBe('special');
    expect(classifyAddress('127.1')).toBe('special');
    expect(classifyAddress('')).toBe('special');
  });

  it('decides Teredo on both the server and the inverted client address', () => {
    // Server 10.0.0.1 (0a00:0001), client 8.8.8.8: the server alone makes it special.
    expect(classifyAddress('2001:0:a00:1:8000:63bf:f7f7:f7f7')).toBe('special');
  });
});

describe('refusedHost', () => {
  it('refuses loopback only when loopback is not allowed', () => {
    expect(refusedHost('[::ffff:127.0.0.1]', true)).toBeUndefined();
    expect(refusedHost('[::ffff:127.0.0.1]', false)).toBe('a loopback address');
    expect(refusedHost('2130706433', false)).toBe('a loopback address');
  });

  it('refuses special addresses whatever the loopback setting', () => {
    expect(refusedHost('169.254.169.254', true)).toBe(
      'a private, link-local, metadata or other special-purpose address',
    );
    expect(refusedHost('fe80::1%eth0', true)).toBe('a private, link-local, metadata or other special-purpose address');
  });

  it('lets public addresses and names through', () => {
    expect(refusedHost('8.8.8.8', false)).toBeUndefined();
    expect(refusedHost('api.example.com', false)).toBeUndefined();
  });
});

describe('checkEndpointUrl', () => {
  it.each([
    ['https://api.example.com/v1', true],
    ['http://127.0.0.1:1234/v1', true],
    ['http://localhost:11434', true],
    ['http://[::1]:8080', true],
    ['http://2130706433:8080/', true],
    ['https://[::ffff:127.0.0.1]/', true],
    ['http://10.0.0.5/v1', false],
    ['http://api.example.com', false],
    ['https://user:pw@api.example.com', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
    ['http://[fe80::1%25eth0]/', false],
  ])('%s → %s', (url, ok) => {
    expect(checkEndpointUrl(url).ok).toBe(ok);
  });

  it.each(SPELLINGS.map((s) => [s.host, s.kind] as const))(
    'https://%s/ (%s) is accepted unless special',
    (host, kind) => {
      expect(checkEndpointUrl(`https://${host}/v1`).ok).toBe(kind !== 'special');
    },
  );

  it('explains a refused special address', () => {
    expect(checkEndpointUrl('https://[::ffff:a9fe:a9fe]/')).toEqual({
      ok: false,
      reason: 'points at a private, link-local, metadata or other special-purpose address',
    });
  });

  it('regression: IPv4-mapped IPv6 metadata address ::ffff:169.254.169.254 is not public', () => {
    expect(checkEndpointUrl('https://[::ffff:169.254.169.254]/latest/meta-data/').ok).toBe(false);
    expect(checkEndpointUrl('https://[::ffff:10.0.0.1]/').ok).toBe(false);
  });

  it('keeps http:// for loopback hosts only, whatever the spelling', () => {
    expect(checkEndpointUrl('http://0x7f.1:1234/')).toMatchObject({ ok: true });
    expect(checkEndpointUrl('http://169.254.169.254/')).toEqual({
      ok: false,
      reason: 'must use https:// (http:// is accepted only for loopback hosts)',
    });
  });
});

describe('isLoopbackHost', () => {
  it('knows every loopback spelling', () => {
    expect(['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(
      true,
    );
    expect(['128.0.0.1', 'example.com', '10.0.0.1', '::ffff:10.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});

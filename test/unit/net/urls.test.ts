import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, isLoopbackHost, isPrivateOrLinkLocalAddress } from '#shared/net/urls.ts';

describe('checkEndpointUrl', () => {
  it.each([
    ['https://api.example.com/v1', true],
    ['http://127.0.0.1:1234/v1', true],
    ['http://localhost:11434', true],
    ['http://[::1]:8080', true],
    ['http://10.0.0.5/v1', false],
    ['http://api.example.com', false],
    ['https://user:pw@api.example.com', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s → %s', (url, ok) => {
    expect(checkEndpointUrl(url).ok).toBe(ok);
  });
});

describe('address classes', () => {
  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['128.0.0.1', 'example.com', '10.0.0.1'].some(isLoopbackHost)).toBe(false);
  });

  it('flags metadata, link-local and private addresses', () => {
    for (const address of [
      '169.254.169.254',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '0.0.0.0',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
    ]) {
      expect(isPrivateOrLinkLocalAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888']) {
      expect(isPrivateOrLinkLocalAddress(address), address).toBe(false);
    }
  });
});

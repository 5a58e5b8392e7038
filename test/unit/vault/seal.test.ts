import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealWithKey, unsealWithKey } from '#shared/vault/seal.ts';

const key = randomBytes(32);
const VERIFIER = 'pkce-verifier-Zq3x0123456789abcdef';

/** Flips one bit of the byte at `index` of the sealed value's ciphertext part. */
function tampered(sealed: string, index: number): string {
  const [version, iv, body] = sealed.split('.');
  const bytes = Buffer.from(body ?? '', 'base64url');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return `${version}.${iv}.${bytes.toString('base64url')}`;
}

describe('sealing', () => {
  it('round-trips a value bound to its context, and never shows it in the sealed form', () => {
    const sealed = sealWithKey(key, VERIFIER, 'si_context_1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('pkce-verifier');
    expect(unsealWithKey(key, sealed, 'si_context_1')).toBe(VERIFIER);
  });

  it('uses a fresh IV each time, so the same value seals differently', () => {
    expect(sealWithKey(key, VERIFIER, 'si_1')).not.toBe(sealWithKey(key, VERIFIER, 'si_1'));
  });

  it('refuses a value moved to another item (wrong context)', () => {
    const sealed = sealWithKey(key, VERIFIER, 'si_context_1');
    expect(() => unsealWithKey(key, sealed, 'si_context_2')).toThrow(/unable to authenticate/i);
  });

  it('refuses a tampered ciphertext and a tampered tag', () => {
    const sealed = sealWithKey(key, VERIFIER, 'si_1');
    expect(() => unsealWithKey(key, tampered(sealed, 0), 'si_1')).toThrow(/unable to authenticate/i);
    const tagByte = Buffer.from(sealed.split('.')[2] ?? '', 'base64url').length - 1;
    expect(() => unsealWithKey(key, tampered(sealed, tagByte), 'si_1')).toThrow(/unable to authenticate/i);
  });

  it('refuses another key', () => {
    const sealed = sealWithKey(key, VERIFIER, 'si_1');
    expect(() => unsealWithKey(randomBytes(32), sealed, 'si_1')).toThrow(/unable to authenticate/i);
  });

  it.each([
    ['another version', 'v2.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb'],
    ['missing parts', 'v1.aaaaaaaaaaaaaaaa'],
    ['an extra part', 'v1.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb.c'],
    ['a body shorter than the tag', 'v1.aaaaaaaaaaaaaaaa.YWJj'],
  ])('refuses a value with %s as not sealed', (_, value) => {
    expect(() => unsealWithKey(key, value, 'si_1')).toThrow('not a sealed value');
  });
});

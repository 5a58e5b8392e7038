import { describe, expect, it } from 'vitest';
import { retryAfterAt } from '#shared/net/retry-after.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');

describe('retryAfterAt', () => {
  it('reads delta-seconds, whole or fractional, from now', () => {
    expect(retryAfterAt('120', NOW)).toBe(NOW + 120_000);
    expect(retryAfterAt(' 0 ', NOW)).toBe(NOW);
    expect(retryAfterAt('1.5', NOW)).toBe(NOW + 1_500);
  });

  it('reads an HTTP date as that moment, also one already past', () => {
    expect(retryAfterAt('Sun, 22 Nov 2026 12:05:00 GMT', NOW)).toBe(Date.parse('2026-11-22T12:05:00Z'));
    expect(retryAfterAt('Sun, 22 Nov 2026 11:59:00 GMT', NOW)).toBe(Date.parse('2026-11-22T11:59:00Z'));
  });

  it('takes the first of repeated headers', () => {
    expect(retryAfterAt(['30', '60'], NOW)).toBe(NOW + 30_000);
  });

  it.each([undefined, null, '', '   ', 'soon', '-5', '1e3', '2026-11-22'])('reads nothing from %j', (value) => {
    expect(retryAfterAt(value, NOW)).toBeUndefined();
  });
});

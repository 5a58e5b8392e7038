import { describe, expect, it } from 'vitest';
import { ALL_LAUNCHES, beforeBound, callerLaunches } from '#shared/launch/listing.ts';
import { encodeCursor } from '#shared/store/cursor.ts';

describe('beforeBound', () => {
  it('reads an ISO time as the bound, normalised to UTC', () => {
    expect(beforeBound('2026-11-20T10:00:00+01:00', ALL_LAUNCHES)).toBe('2026-11-20T09:00:00.000Z');
  });

  it('reads a cursor of the listed partition as its sort key', () => {
    const sk = '2026-11-20T09:01:00.000Z#lch_0123456789abcdef0123';
    expect(beforeBound(encodeCursor({ pk: callerLaunches('alice'), sk }), callerLaunches('alice'))).toBe(sk);
  });

  it.each([
    ['a cursor of another partition', encodeCursor({ pk: ALL_LAUNCHES, sk: 'x' })],
    ['a cursor with other attributes', encodeCursor({ pk: callerLaunches('alice'), sk: 'x', extra: 1 })],
    ['text that is neither', 'yesterday'],
    ['an impossible date', '2026-02-31T00:00:00Z'],
  ])('refuses %s with validation_failed on query.before', (_what, value) => {
    expect(() => beforeBound(value, callerLaunches('alice'))).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        details: [expect.objectContaining({ path: 'query.before' })],
      }),
    );
  });
});

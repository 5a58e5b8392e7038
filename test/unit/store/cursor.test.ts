import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/errors.ts';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, parseBefore } from '#shared/store/cursor.ts';

const auditRules = { attributes: ['pk', 'sk'], accept: (k: Record<string, unknown>) => k.pk === 'AUDIT' };

function rejection(run: () => unknown): { code: string; details: unknown } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as ValidationError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected a ValidationError');
}

describe('page cursors', () => {
  it('encodes a key as base64url that round-trips', () => {
    const key = { pk: 'AUDIT', sk: '2026-11-22T10:00:00.000Z#0a1b2c3d4e5f' };
    const cursor = encodeCursor(key);
    expect(cursor).toBe(Buffer.from(JSON.stringify(key)).toString('base64url'));
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, auditRules)).toEqual(key);
  });

  it('keeps number attributes as numbers', () => {
    const key = { pk: 'LAUNCH#l_1', sk: 'LAUNCH', createdAtMs: 1_795_000_000_000 };
    expect(decodeCursor(encodeCursor(key), { attributes: ['sk', 'pk', 'createdAtMs'] })).toEqual(key);
  });

  it('produces only URL-safe characters for any key', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.string({ minLength: 1, maxLength: 200 }),
        (pk, sk) => {
          const cursor = encodeCursor({ pk, sk });
          expect(encodeURIComponent(cursor)).toBe(cursor);
          expect(decodeCursor(cursor, { attributes: ['pk', 'sk'] })).toEqual({ pk, sk });
        },
      ),
    );
  });

  it.each([
    ['an ISO time', '2026-11-22T10:00:00.000Z'],
    ['a raw sort key with #', '2026-11-22T10:00:00.000Z#0a1b2c3d4e5f'],
    ['padding', `${encodeCursor({ pk: 'AUDIT', sk: 'x' })}=`],
    ['standard base64 characters', 'ab+c/d'],
    ['non-JSON bytes', Buffer.from('not json').toString('base64url')],
    ['a JSON array', Buffer.from('["AUDIT","x"]').toString('base64url')],
    ['a JSON string', Buffer.from('"AUDIT"').toString('base64url')],
    ['a missing attribute', encodeCursor({ pk: 'AUDIT' })],
    ['an extra attribute', encodeCursor({ pk: 'AUDIT', sk: 'x', admin: 'yes' })],
    ['an empty value', encodeCursor({ pk: 'AUDIT', sk: '' })],
    ['a nested value', Buffer.from('{"pk":"AUDIT","sk":{"S":"x"}}').toString('base64url')],
    ['another partition', encodeCursor({ pk: 'PROVIDER#claude', sk: 'SETTINGS' })],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')],
    ['an empty string', ''],
    ['an over-long value', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
  ])('refuses %s with validation_failed naming the parameter', (_, value) => {
    expect(rejection(() => decodeCursor(value, auditRules))).toEqual({
      code: 'validation_failed',
      details: [{ path: 'query.before', message: 'must be the next value of a previous page' }],
    });
  });

  it('names the parameter the caller gives', () => {
    expect(rejection(() => decodeCursor('%%%', { attributes: ['pk'], param: 'query.cursor' })).details).toEqual([
      { path: 'query.cursor', message: 'must be the next value of a previous page' },
    ]);
  });

  it('refuses to encode a key with a non-scalar attribute', () => {
    expect(() => encodeCursor({ pk: 'AUDIT', sk: { S: 'x' } })).toThrow(TypeError);
  });
});

describe('?before= values', () => {
  it.each([
    ['2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T12:00:00+02:00', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22', '2026-11-22T00:00:00.000Z'],
  ])('reads %s as the time %s', (value, time) => {
    expect(parseBefore(value, auditRules)).toEqual({ time });
  });

  it('reads a cursor as its key', () => {
    const key = { pk: 'AUDIT', sk: '2026-11-22T10:00:00.000Z#0a1b2c3d4e5f' };
    expect(parseBefore(encodeCursor(key), auditRules)).toEqual({ cursor: key });
  });

  it.each([
    'yesterday',
    '2026-02-31',
    '2026-13-01',
    '2026-11-22T25:00Z',
    '2026-11-22T10:00:00',
    '2026-11-22T10:00:00.000Z#0a1b2c3d4e5f',
    '1795334400000',
  ])('refuses %s with validation_failed', (value) => {
    expect(rejection(() => parseBefore(value, auditRules))).toEqual({
      code: 'validation_failed',
      details: [{ path: 'query.before', message: 'must be the next value of a previous page or an ISO-8601 time' }],
    });
  });
});

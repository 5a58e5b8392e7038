import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';

// The test setup loads classic zod, which installs English messages itself: clear them, so that
// only what shared/errors.ts does on import counts.
let parseInput: typeof import('#shared/http/validate.ts').parseInput;
let ValidationError: typeof import('#shared/errors.ts').ValidationError;
beforeAll(async () => {
  z.config({ localeError: undefined });
  vi.resetModules();
  ({ ValidationError } = await import('#shared/errors.ts'));
  ({ parseInput } = await import('#shared/http/validate.ts'));
});

const body = z.strictObject({
  count: z.number().check(z.int(), z.gte(1)),
  kind: z.enum(['a', 'b']),
  name: z.optional(z.string().check(z.maxLength(3, 'must be at most 3 characters'))),
});

function failure(value: unknown): InstanceType<typeof ValidationError> {
  try {
    parseInput(body, value, 'body');
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('parsed');
}

describe('parseInput with zod/mini schemas', () => {
  it('regression: built-in rules keep their English messages (zod/mini loads no locale by itself)', () => {
    const error = failure({ count: 'x', kind: 'c' });
    expect(error.details).toEqual([
      { path: 'body.count', message: 'Invalid input: expected number, received string' },
      { path: 'body.kind', message: 'Invalid option: expected one of "a"|"b"' },
    ]);
    expect(error.message).toBe(
      'Invalid body: body.count Invalid input: expected number, received string; body.kind Invalid option: expected one of "a"|"b"',
    );
  });

  it('names unknown keys and size rules without echoing the value', () => {
    const error = failure({ count: 0.5, kind: 'a', name: 'sk-secret-value', extra: 1 });
    expect(error.details).toEqual([
      { path: 'body.count', message: 'Invalid input: expected int, received number' },
      { path: 'body.name', message: 'must be at most 3 characters' },
      { path: 'body', message: 'Unrecognized key: "extra"' },
    ]);
  });

  it('returns the parsed value when it fits', () => {
    expect(parseInput(body, { count: 2, kind: 'b' }, 'body')).toEqual({ count: 2, kind: 'b' });
  });
});

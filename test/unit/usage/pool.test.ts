import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PoolMember, pickAt, planPool, skipOf } from '#shared/usage/pool.ts';

/** The account a launch with this cursor value picks: plan at `now`, then index the usable list. */
const pick = (pool: PoolMember[], cursor: number, now: number) => pickAt(planPool(pool, { now }).usable, cursor);

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;

function member(id: string, windows: PoolMember['usage'] = null, extra: Partial<PoolMember> = {}): PoolMember {
  return { id, status: 'connected', cooldownUntil: null, usage: windows, ...extra };
}
const at = (name: string, usedPercent: number, resetsAt: string | null) => ({
  windows: [{ name, usedPercent, resetsAt }],
});

/** Counts picks per id over cursor values `from..to` (inclusive), as consecutive launches would. */
function launches(pool: PoolMember[], from: number, to: number, now: () => number): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(pool.map((m) => [m.id, 0]));
  for (let cursor = from; cursor <= to; cursor++) {
    const picked = pick(pool, cursor, now());
    if (picked) counts[picked.id] = (counts[picked.id] ?? 0) + 1;
  }
  return counts;
}

describe('quota-aware pool selection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('skips an account at 96 % until its resetsAt, then includes it again', () => {
    const resetsAt = iso(T0 + 2 * HOUR);
    const pool = [member('a'), member('b', at('five_hour', 96, resetsAt)), member('c')];
    const before = launches(pool, 1, 6, () => Date.now());
    expect(before).toEqual({ a: 3, b: 0, c: 3 });
    expect(planPool(pool, { now: Date.now() }).skipped).toEqual([
      { id: 'b', reasons: ['usage'], windows: ['five_hour'], until: resetsAt },
    ]);

    vi.setSystemTime(T0 + 2 * HOUR - 1);
    expect(launches(pool, 7, 12, () => Date.now())).toEqual({ a: 3, b: 0, c: 3 });

    vi.setSystemTime(T0 + 2 * HOUR);
    expect(launches(pool, 13, 18, () => Date.now())).toEqual({ a: 2, b: 2, c: 2 });
  });

  it('sends 30 launches 15/15 to the two other accounts when one of three is at 97 % of its five-hour window', () => {
    const pool = [member('a'), member('b'), member('c', at('five_hour', 97, iso(T0 + HOUR)))];
    expect(launches(pool, 1, 30, () => Date.now())).toEqual({ a: 15, b: 15, c: 0 });
  });

  it('keeps the spread over usable accounts within 1 for cursor values 1..1000 over 7 accounts with one exhausted', () => {
    const pool = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map((id) =>
      id === 'p4' ? member(id, at('seven_day', 100, iso(T0 + 48 * HOUR))) : member(id),
    );
    const counts = launches(pool, 1, 1000, () => Date.now());
    expect(counts).toEqual({ p1: 167, p2: 167, p3: 167, p4: 0, p5: 167, p6: 166, p7: 166 });
  });

  it('keeps the spread over usable accounts within 1 for any pool, usage and run of consecutive cursor values', () => {
    const window = fc.record({
      name: fc.constantFrom('five_hour', 'seven_day', 'seven_day_opus'),
      usedPercent: fc.double({ min: 0, max: 100, noNaN: true }),
      resetsAt: fc.option(fc.integer({ min: -10, max: 10 }).map((h) => iso(T0 + h * HOUR))),
    });
    const pool = fc.array(fc.option(fc.array(window, { maxLength: 3 }).map((windows) => ({ windows }))), {
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(pool, fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 300 }), (usages, start, k) => {
        const members = usages.map((usage, i) => member(`m${i}`, usage));
        const { usable } = planPool(members, { now: T0 });
        const counts = launches(members, start, start + k - 1, () => T0);
        const usableCounts = usable.map((m) => counts[m.id] ?? 0);
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        expect(total).toBe(usable.length === 0 ? 0 : k);
        if (usable.length > 0) expect(Math.max(...usableCounts) - Math.min(...usableCounts)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('skips an account cooling down until cooldownUntil, and includes it from then on', () => {
    const until = iso(T0 + 30 * 60_000);
    const pool = [member('a'), member('b', null, { status: 'cooling_down', cooldownUntil: until })];
    expect(planPool(pool, { now: T0 })).toEqual({
      usable: [pool[0]],
      skipped: [{ id: 'b', reasons: ['cooling_down'], windows: [], until }],
      earliestResetAt: until,
    });
    expect(planPool(pool, { now: Date.parse(until) }).usable.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('skips a full window without a reset time until the next usage read replaces it', () => {
    const b = member('b', at('five_hour', 99, null));
    expect(skipOf(b, 95, T0 + 365 * 24 * HOUR)).toEqual({
      id: 'b',
      reasons: ['usage'],
      windows: ['five_hour'],
      until: null,
    });
    const reread = { ...b, usage: at('five_hour', 12, null) };
    expect(skipOf(reread, 95, T0)).toBeNull();
  });

  it('treats a window whose resetsAt has passed as reset, even when the stale reading says 100 %', () => {
    expect(skipOf(member('a', at('five_hour', 100, iso(T0 - 1))), 95, T0)).toBeNull();
  });

  it('skips at exactly the threshold and not below it, with the default at 95 %', () => {
    const reset = iso(T0 + HOUR);
    expect(skipOf(member('a', at('five_hour', 95, reset)), undefined, T0)?.windows).toEqual(['five_hour']);
    expect(skipOf(member('a', at('five_hour', 94.9, reset)), undefined, T0)).toBeNull();
    expect(skipOf(member('a', at('five_hour', 80, reset)), 80, T0)?.windows).toEqual(['five_hour']);
    expect(skipOf(member('a', at('five_hour', 94.9, reset)), 0, T0)).toBeNull();
    expect(skipOf(member('a', at('five_hour', 94.9, reset)), Number.NaN, T0)).toBeNull();
  });

  it('keeps an account out until its latest exhausted window resets', () => {
    const usage = {
      windows: [
        { name: 'five_hour', usedPercent: 100, resetsAt: iso(T0 + HOUR) },
        { name: 'seven_day', usedPercent: 97, resetsAt: iso(T0 + 50 * HOUR) },
        { name: 'seven_day_opus', usedPercent: 20, resetsAt: iso(T0 + 70 * HOUR) },
      ],
    };
    const skip = skipOf(member('a', usage, { status: 'cooling_down', cooldownUntil: iso(T0 + 2 * HOUR) }), 95, T0);
    expect(skip).toEqual({
      id: 'a',
      reasons: ['cooling_down', 'usage'],
      windows: ['five_hour', 'seven_day'],
      until: iso(T0 + 50 * HOUR),
    });
  });

  it('reports the earliest reset when no account is usable, and takes no pick', () => {
    const pool = [
      member('a', at('five_hour', 100, iso(T0 + 3 * HOUR))),
      member('b', at('seven_day', 98, iso(T0 + HOUR))),
      member('c', at('five_hour', 99, null)),
      member('d', null, { status: 'needs_reconnect' }),
    ];
    const plan = planPool(pool, { now: T0 });
    expect(pickAt(plan.usable, 5)).toBeUndefined();
    expect(plan.usable).toEqual([]);
    expect(plan.earliestResetAt).toBe(iso(T0 + HOUR));
    expect(plan.skipped.map((s) => [s.id, s.reasons, s.until])).toEqual([
      ['a', ['usage'], iso(T0 + 3 * HOUR)],
      ['b', ['usage'], iso(T0 + HOUR)],
      ['c', ['usage'], null],
      ['d', ['needs_reconnect'], null],
    ]);
  });

  it('reports no earliest reset when no skipped account has a known end', () => {
    const pool = [member('a', at('five_hour', 100, null))];
    expect(planPool(pool, { now: T0 }).earliestResetAt).toBeNull();
  });

  it('indexes the usable list in pool order with (cursor − 1) mod |usable|', () => {
    const usable = ['x', 'y', 'z'];
    expect([1, 2, 3, 4, 5, 6, 0, -1].map((c) => pickAt(usable, c))).toEqual(['x', 'y', 'z', 'x', 'y', 'z', 'z', 'y']);
    expect(pickAt([], 7)).toBeUndefined();
    expect(() => pickAt(usable, 1.5)).toThrow(RangeError);
  });

  it('resumes strict rotation over the new usable set right after it changes', () => {
    const pool = [member('a'), member('b'), member('c', at('five_hour', 99, iso(T0 + HOUR))), member('d')];
    const picks = (from: number, to: number, now: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => pick(pool, from + i, now)?.id);
    expect(picks(1, 7, T0)).toEqual(['a', 'b', 'd', 'a', 'b', 'd', 'a']);
    // c's window resets between cursor 7 and 8: from 8 on, every 4 consecutive launches cover a..d once.
    const after = picks(8, 15, T0 + HOUR);
    expect(after).toEqual(['d', 'a', 'b', 'c', 'd', 'a', 'b', 'c']);
  });
});

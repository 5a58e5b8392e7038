import { describe, expect, it } from 'vitest';
import type { PoolMember } from '#shared/usage/pool.ts';
import {
  noUsableAccountMessage,
  poolExhausted,
  poolFallbackWarning,
  roundRobinPick,
} from '#shared/usage/round-robin.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const full = (id: string, resetsAt: string | null): PoolMember => ({
  id,
  status: 'connected',
  cooldownUntil: null,
  usage: { windows: [{ name: 'five_hour', usedPercent: 100, resetsAt }] },
});
const fine = (id: string): PoolMember => ({ id, status: 'connected', cooldownUntil: null, usage: null });

/** A cursor step that counts its calls, like `ADD cursor :1` on one item. */
function counter(start = 0) {
  let value = start;
  const step = async () => {
    value += 1;
    return value;
  };
  return Object.assign(step, { calls: () => value - start });
}

describe('the round-robin step of a launch', () => {
  it('takes exactly one cursor step per launch and picks from the usable accounts', async () => {
    const pool = [fine('a'), full('b', '2026-03-02T11:00:00.000Z'), fine('c')];
    const step = counter();
    const picks: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) picks.push((await roundRobinPick(pool, { now: NOW, step })).account?.id);
    expect(picks).toEqual(['a', 'c', 'a', 'c']);
    expect(step.calls()).toBe(4);
  });

  it('takes no cursor step when every pool account is skipped, and reports the earliest reset', async () => {
    const pool = [
      full('a', '2026-03-02T13:00:00.000Z'),
      { ...fine('b'), status: 'cooling_down', cooldownUntil: '2026-03-02T10:30:00.000Z' } satisfies PoolMember,
    ];
    const step = counter();
    const outcome = await roundRobinPick(pool, { now: NOW, step });
    expect(outcome).toMatchObject({
      account: null,
      cursor: null,
      plan: { earliestResetAt: '2026-03-02T10:30:00.000Z' },
    });
    expect(step.calls()).toBe(0);
    expect(poolExhausted(outcome.plan)).toBe(true);
    expect(poolFallbackWarning('claude', outcome.plan)).toBe(
      'Every claude round-robin account is at its usage limit or cooling down (the earliest is usable again at 2026-03-02T10:30:00.000Z); the active account was used instead.',
    );
    expect(noUsableAccountMessage('claude', outcome.plan)).toBe(
      'No usable claude account: every round-robin account is at its usage limit or cooling down; the earliest is usable again at 2026-03-02T10:30:00.000Z.',
    );
  });

  it('says no reset time is known when none of the skipped accounts has one', async () => {
    const outcome = await roundRobinPick([full('a', null)], { now: NOW, step: counter() });
    expect(noUsableAccountMessage('codex', outcome.plan)).toBe(
      'No usable codex account: every round-robin account is at its usage limit or cooling down; no reset time is known yet.',
    );
  });

  it('keeps the usual advice when there is no pool at all', async () => {
    const outcome = await roundRobinPick([], { now: NOW, step: counter() });
    expect(poolExhausted(outcome.plan)).toBe(false);
    expect(noUsableAccountMessage('gemini', outcome.plan)).toBe(
      'No usable gemini account: connect one or mark one active.',
    );
    expect(noUsableAccountMessage('gemini', null)).toBe('No usable gemini account: connect one or mark one active.');
  });
});

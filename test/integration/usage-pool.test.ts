import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderId } from '#shared/providers/types.ts';
import { nextCursor } from '#shared/usage/cursor.ts';
import type { PoolMember } from '#shared/usage/pool.ts';
import { roundRobinPick } from '#shared/usage/round-robin.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const LATER = '2026-03-02T13:00:00.000Z';

function member(id: string, usedPercent = 10): PoolMember {
  return {
    id,
    status: 'connected',
    cooldownUntil: null,
    usage: { windows: [{ name: 'five_hour', usedPercent, resetsAt: LATER }] },
  };
}

/** `count` launches at once: each plans the pool, takes one atomic cursor step, and picks. */
async function concurrentLaunches(provider: ProviderId, pool: PoolMember[], count: number) {
  const outcomes = await Promise.all(
    Array.from({ length: count }, () => roundRobinPick(pool, { now: NOW, step: () => nextCursor(provider) })),
  );
  const cursors = outcomes.map((o) => o.cursor);
  const picks = outcomes.map((o) => o.account?.id);
  const counts: Record<string, number> = Object.fromEntries(pool.map((m) => [m.id, 0]));
  for (const id of picks) if (id) counts[id] = (counts[id] ?? 0) + 1;
  return { counts, cursors };
}

describe('quota-aware round robin over the real cursor item', () => {
  it('keeps the spread over usable accounts within 1 for 1,000 concurrent launches over 7 accounts with one exhausted', async () => {
    const pool = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map((id) => member(id, id === 'a3' ? 100 : 20));
    const { counts, cursors } = await concurrentLaunches('claude', pool, 1000);
    expect([...cursors].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(counts).toEqual({ a1: 167, a2: 167, a3: 0, a4: 167, a5: 167, a6: 166, a7: 166 });
  }, 120_000);

  it('sends 30 concurrent launches 15/15 to two accounts when the third is at 97 % of its five-hour window', async () => {
    const pool = [member('b1'), member('b2', 97), member('b3')];
    const { counts } = await concurrentLaunches('codex', pool, 30);
    expect(counts).toEqual({ b1: 15, b2: 0, b3: 15 });
  });
});

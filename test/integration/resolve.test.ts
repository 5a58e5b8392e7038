import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { setActiveAccount } from '#shared/accounts/active.ts';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { deleteAccount } from '#shared/accounts/store.ts';
import { AccountUnusableError, NotFoundError, ProviderNotConfiguredError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { updateProviderSettings } from '#shared/settings/store.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

/** Each test gets a clean provider partition (the cursor item is left, as in production). */
async function reset(provider: ProviderId): Promise<void> {
  const state = await loadProviderState(provider);
  for (const account of state.accounts) await deleteAccount(provider, account.id);
  await setActiveAccount({ provider, owner: null, accountId: null });
}

const FUTURE = '2999-01-01T00:00:00.000Z';
const PAST = '2000-01-01T00:00:00.000Z';

describe('resolution order', () => {
  beforeEach(() => reset('claude'));

  it('uses the task’s preferred account first', async () => {
    const key = await seedAccount('claude', { kind: 'api_key' });
    const chosen = await seedAccount('claude');
    await setActiveAccount({ provider: 'claude', owner: null, accountId: key.id });
    const r = await resolveAccount({
      provider: 'claude',
      taskPreferredAccountId: chosen.id,
      userPreferredAccountId: key.id,
    });
    expect(r).toMatchObject({ step: 'task_preferred', account: { id: chosen.id } });
  });

  it('refuses an unusable task choice with account_unusable, and an unknown one with not_found', async () => {
    const dead = await seedAccount('claude', { status: 'needs_reconnect' });
    await expect(resolveAccount({ provider: 'claude', taskPreferredAccountId: dead.id })).rejects.toBeInstanceOf(
      AccountUnusableError,
    );
    await expect(resolveAccount({ provider: 'claude', taskPreferredAccountId: 'acc_nope' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('never lets a caller pick another member’s personal account', async () => {
    const theirs = await seedAccount('claude', { owner: 'member-b' });
    await expect(
      resolveAccount({ provider: 'claude', callerId: 'member-a', taskPreferredAccountId: theirs.id }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const saved = await resolveAccount({
      provider: 'claude',
      callerId: 'member-a',
      userPreferredAccountId: theirs.id,
    }).catch((e: unknown) => e);
    expect(saved).toBeInstanceOf(ProviderNotConfiguredError);
  });

  it('uses the caller’s saved preference next, and falls through when it is stale', async () => {
    const saved = await seedAccount('claude');
    const key = await seedAccount('claude', { kind: 'api_key' });
    await setActiveAccount({ provider: 'claude', owner: null, accountId: key.id });
    expect(await resolveAccount({ provider: 'claude', userPreferredAccountId: saved.id })).toMatchObject({
      step: 'user_preferred',
      account: { id: saved.id },
    });
    const cooling = await seedAccount('claude', { status: 'cooling_down', cooldownUntil: FUTURE });
    expect(await resolveAccount({ provider: 'claude', userPreferredAccountId: cooling.id })).toMatchObject({
      step: 'active_api_key',
    });
    expect(await resolveAccount({ provider: 'claude', userPreferredAccountId: 'acc_gone' })).toMatchObject({
      step: 'active_api_key',
    });
  });

  it('uses the caller’s own active personal account when no preference is saved', async () => {
    const own = await seedAccount('claude', { owner: 'member-a' });
    await setActiveAccount({ provider: 'claude', owner: 'member-a', accountId: own.id });
    const key = await seedAccount('claude', { kind: 'api_key' });
    await setActiveAccount({ provider: 'claude', owner: null, accountId: key.id });
    expect(await resolveAccount({ provider: 'claude', callerId: 'member-a' })).toMatchObject({
      step: 'personal_active',
      account: { id: own.id },
    });
    expect(await resolveAccount({ provider: 'claude', callerId: 'member-b' })).toMatchObject({
      step: 'active_api_key',
    });
  });

  it('prefers the active API-key account over the round-robin pool', async () => {
    await seedAccount('claude', { roundRobin: true });
    const key = await seedAccount('claude', { kind: 'api_key' });
    await setActiveAccount({ provider: 'claude', owner: null, accountId: key.id });
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_api_key',
      account: { id: key.id },
    });
  });

  it('treats a keyless (local model) account like an API-key account', async () => {
    const local = await seedAccount('claude', { kind: 'none', secretName: null });
    await setActiveAccount({ provider: 'claude', owner: null, accountId: local.id });
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_api_key',
      account: { id: local.id },
    });
  });

  it('uses the round-robin pool before the active OAuth account, skipping unusable members', async () => {
    const active = await seedAccount('claude');
    await setActiveAccount({ provider: 'claude', owner: null, accountId: active.id });
    const a = await seedAccount('claude', { roundRobin: true });
    await seedAccount('claude', { roundRobin: true, status: 'needs_reconnect' });
    await seedAccount('claude', { roundRobin: true, status: 'cooling_down', cooldownUntil: FUTURE });
    const b = await seedAccount('claude', { roundRobin: true, status: 'cooling_down', cooldownUntil: PAST });
    await seedAccount('claude', { roundRobin: true, owner: 'member-a' });
    const picks = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await resolveAccount({ provider: 'claude' });
      expect(r.step).toBe('round_robin');
      picks.add(r.account.id);
    }
    expect([...picks].sort()).toEqual([a.id, b.id].sort());
  });

  it('falls back to the active OAuth account when the pool is empty or unusable', async () => {
    const active = await seedAccount('claude');
    await setActiveAccount({ provider: 'claude', owner: null, accountId: active.id });
    await seedAccount('claude', { roundRobin: true, status: 'needs_reconnect' });
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_oauth',
      account: { id: active.id },
    });
  });

  it('answers provider_not_configured when nothing is usable', async () => {
    const dead = await seedAccount('claude', { status: 'needs_reconnect' });
    await setActiveAccount({ provider: 'claude', owner: null, accountId: dead.id });
    await expect(resolveAccount({ provider: 'claude' })).rejects.toThrow(
      new ProviderNotConfiguredError('No usable claude account: connect one or mark one active.'),
    );
  });
});

describe('round-robin fairness', () => {
  it('spreads 300 concurrent picks over 3 pool accounts exactly 100 each', async () => {
    const pool = [
      await seedAccount('codex', { roundRobin: true }),
      await seedAccount('codex', { roundRobin: true }),
      await seedAccount('codex', { roundRobin: true }),
    ];
    const picks = await Promise.all(Array.from({ length: 300 }, () => resolveAccount({ provider: 'codex' })));
    const counts = new Map<string, number>();
    for (const p of picks) counts.set(p.account.id, (counts.get(p.account.id) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(pool.map((a) => [a.id, 100])));
  });
});

describe('quota-aware round robin', () => {
  beforeEach(async () => {
    await reset('codex');
    await updateProviderSettings('codex', { pool: { skipAbovePercent: 95 } });
  });

  const usage = (usedPercent: number, resetsAt: string | null = FUTURE) => ({
    plan: 'pro',
    readAt: '2026-11-22T10:00:00.000Z',
    windows: [{ name: 'five_hour', usedPercent, resetsAt }],
  });

  it('skips an account at 96 % until its window’s resetsAt (fake time), then includes it again', async () => {
    const resetsAt = '2026-11-22T15:00:00.000Z';
    const a = await seedAccount('codex', { roundRobin: true, usage: usage(10) });
    const full = await seedAccount('codex', { roundRobin: true, usage: usage(96, resetsAt) });
    const c = await seedAccount('codex', { roundRobin: true, usage: usage(30) });
    const picks = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push((await resolveAccount({ provider: 'codex' })).account.id);
      return ids.sort();
    };
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(resetsAt) - 1 });
    try {
      expect(await picks(4)).toEqual([a.id, a.id, c.id, c.id].sort());
      vi.setSystemTime(Date.parse(resetsAt));
      expect(await picks(3)).toEqual([a.id, full.id, c.id].sort());
    } finally {
      vi.useRealTimers();
    }
  });

  it('skips a pool account whose usage window is at or above skipAbovePercent and rotates over the rest', async () => {
    const a = await seedAccount('codex', { roundRobin: true, usage: usage(20) });
    const full = await seedAccount('codex', { roundRobin: true, usage: usage(97) });
    const c = await seedAccount('codex', { roundRobin: true, usage: usage(94.9) });
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await resolveAccount({ provider: 'codex' });
      expect(r).toMatchObject({ step: 'round_robin', warnings: [] });
      picks.push(r.account.id);
    }
    expect(picks.filter((id) => id === a.id)).toHaveLength(3);
    expect(picks.filter((id) => id === c.id)).toHaveLength(3);
    expect(picks).not.toContain(full.id);
  });

  it('takes the account back once its window has reset, and honours the provider’s threshold', async () => {
    const reset = await seedAccount('codex', { roundRobin: true, usage: usage(100, PAST) });
    expect(await resolveAccount({ provider: 'codex' })).toMatchObject({ account: { id: reset.id } });
    await seedAccount('codex', { roundRobin: true, usage: usage(85) });
    await updateProviderSettings('codex', { pool: { skipAbovePercent: 80 } });
    for (let i = 0; i < 3; i++) {
      expect(await resolveAccount({ provider: 'codex' })).toMatchObject({ account: { id: reset.id } });
    }
    expect((await loadProviderState('codex')).settings.pool).toEqual({ skipAbovePercent: 80 });
  });

  it('falls back to the active OAuth account with a warning when every pool account is at its limit', async () => {
    await seedAccount('codex', { roundRobin: true, usage: usage(99, '2999-01-01T05:00:00.000Z') });
    await seedAccount('codex', { roundRobin: true, usage: usage(100, FUTURE) });
    const active = await seedAccount('codex');
    await setActiveAccount({ provider: 'codex', owner: null, accountId: active.id });
    expect(await resolveAccount({ provider: 'codex' })).toEqual({
      account: expect.objectContaining({ id: active.id }),
      step: 'active_oauth',
      warnings: [
        `Every codex round-robin account is at its usage limit or cooling down (the earliest is usable again at ${FUTURE}); the active account was used instead.`,
      ],
    });
  });

  it('names the earliest reset when the pool is exhausted and nothing else is usable', async () => {
    await seedAccount('codex', { roundRobin: true, usage: usage(100, '2999-01-01T05:00:00.000Z') });
    await seedAccount('codex', { roundRobin: true, status: 'cooling_down', cooldownUntil: FUTURE });
    const error = await resolveAccount({ provider: 'codex' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderNotConfiguredError);
    expect((error as Error).message).toBe(
      `No usable codex account: every round-robin account is at its usage limit or cooling down; the earliest is usable again at ${FUTURE}.`,
    );
  });
});

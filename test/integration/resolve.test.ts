import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { deleteAccount, loadProviderState, setActiveAccount } from '#shared/accounts/store.ts';
import { AccountUnusableError, NotFoundError, ProviderNotConfiguredError } from '#shared/errors.ts';
import type { ProviderId } from '#shared/providers/types.ts';
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
  await setActiveAccount(provider, null, null);
}

const FUTURE = '2999-01-01T00:00:00.000Z';
const PAST = '2000-01-01T00:00:00.000Z';

describe('resolution order', () => {
  beforeEach(() => reset('claude'));

  it('uses the task’s preferred account first', async () => {
    const key = await seedAccount('claude', { kind: 'api_key' });
    const chosen = await seedAccount('claude');
    await setActiveAccount('claude', null, key.id);
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
    await setActiveAccount('claude', null, key.id);
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
    await setActiveAccount('claude', 'member-a', own.id);
    const key = await seedAccount('claude', { kind: 'api_key' });
    await setActiveAccount('claude', null, key.id);
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
    await setActiveAccount('claude', null, key.id);
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_api_key',
      account: { id: key.id },
    });
  });

  it('treats a keyless (local model) account like an API-key account', async () => {
    const local = await seedAccount('claude', { kind: 'none', secretName: null });
    await setActiveAccount('claude', null, local.id);
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_api_key',
      account: { id: local.id },
    });
  });

  it('uses the round-robin pool before the active OAuth account, skipping unusable members', async () => {
    const active = await seedAccount('claude');
    await setActiveAccount('claude', null, active.id);
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
    await setActiveAccount('claude', null, active.id);
    await seedAccount('claude', { roundRobin: true, status: 'needs_reconnect' });
    expect(await resolveAccount({ provider: 'claude' })).toMatchObject({
      step: 'active_oauth',
      account: { id: active.id },
    });
  });

  it('answers provider_not_configured when nothing is usable', async () => {
    const dead = await seedAccount('claude', { status: 'needs_reconnect' });
    await setActiveAccount('claude', null, dead.id);
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

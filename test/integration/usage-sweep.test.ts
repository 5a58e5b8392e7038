import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderId } from '#shared/providers/types.ts';
import type { UsageAttributes } from '#shared/usage/account.ts';
import { type UsageCandidate, usageDue, usageReadTasks } from '#shared/usage/sweep.ts';
import { createSecret } from '#shared/vault/vault.ts';
import { type FakeUsage, startFakeUsage } from '#test/helpers/fake-usage.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { capturedLogRecords, capturedLogs } from '#test/helpers/logs.ts';

const GOOD = 'sk-ant-oat01-sweep-good-access-1a2b';
const REVOKED = 'sk-ant-oat01-sweep-revoked-access-3c4d';
const NOW = Date.parse('2026-03-02T10:00:00.000Z');

let aws: LocalAws;
let fake: FakeUsage;
beforeAll(async () => {
  aws = await startLocalAws({ KEYFLEET_ALLOW_LOOPBACK_CALLS: 'true' });
  fake = await startFakeUsage();
  fake.accounts.set(GOOD, { usage: { five_hour: { utilization: 96, resets_at: '2026-03-02T12:00:00Z' } } });
});
afterAll(async () => {
  await fake.close();
  await aws.stop();
});

async function claudeAccount(id: string, accessToken: string): Promise<UsageCandidate> {
  const secretName = `keyfleet/test/claude/${id}`;
  await createSecret(secretName, {
    access_token: accessToken,
    refresh_token: `${accessToken}-refresh`,
    expires_at: null,
  });
  return { id, provider: 'claude', kind: 'oauth', status: 'connected', secretName };
}

/** Records what the sweep asks the accounts store to write. */
function recordingStore(fail = false) {
  const writes: [ProviderId, string, UsageAttributes][] = [];
  const store = async (provider: ProviderId, accountId: string, attributes: UsageAttributes) => {
    if (fail) throw new Error('conditional write lost');
    writes.push([provider, accountId, attributes]);
  };
  return { store, writes };
}

describe('the sweep’s usage reads', () => {
  it('reads each due account, stores a good reading, and keeps the last one after a refusal', async () => {
    const good = await claudeAccount('acc_sweep_good', GOOD);
    const revoked = await claudeAccount('acc_sweep_revoked', REVOKED);
    const { store, writes } = recordingStore();
    const due = usageDue(
      [good, revoked, { ...good, id: 'acc_later', usageNextReadAt: '2026-03-02T10:05:00.000Z' }],
      NOW,
      fake.endpoints,
    );
    const tasks = usageReadTasks(due, { now: NOW, store, read: { endpoints: fake.endpoints, now: () => NOW } });
    const outcomes = await Promise.all(tasks.map((t) => t()));
    expect(outcomes).toEqual([
      { provider: 'claude', accountId: 'acc_sweep_good', ok: true, failure: null, stored: true },
      { provider: 'claude', accountId: 'acc_sweep_revoked', ok: false, failure: 'unauthorized', stored: true },
    ]);
    writes.sort((a, b) => (a[1] < b[1] ? -1 : 1));
    expect(writes).toEqual([
      [
        'claude',
        'acc_sweep_good',
        {
          usage: {
            plan: null,
            readAt: '2026-03-02T10:00:00.000Z',
            windows: [{ name: 'five_hour', usedPercent: 96, resetsAt: '2026-03-02T12:00:00.000Z' }],
            credits: null,
          },
          usageNextReadAt: '2026-03-02T10:10:00.000Z',
          usageError: null,
        },
      ],
      [
        'claude',
        'acc_sweep_revoked',
        { usageNextReadAt: '2026-03-02T10:10:00.000Z', usageError: 'the usage endpoint refused the access token' },
      ],
    ]);
    expect(fake.seen.map((s) => s.headers.authorization).sort()).toEqual(
      [`Bearer ${GOOD}`, `Bearer ${REVOKED}`].sort(),
    );
    const warning = capturedLogRecords().find((r) => r.message === 'usage read failed');
    expect(warning).toMatchObject({
      provider: 'claude',
      accountId: 'acc_sweep_revoked',
      kind: 'unauthorized',
      status: 401,
    });
    for (const token of [GOOD, REVOKED]) expect(capturedLogs()).not.toContain(token);
  });

  it('reports a reading it could not store as not stored, instead of failing the sweep', async () => {
    const good = await claudeAccount('acc_sweep_store', GOOD);
    const { store } = recordingStore(true);
    const [task] = usageReadTasks([good], {
      now: NOW,
      store,
      intervalMinutes: 30,
      read: { endpoints: fake.endpoints },
    });
    await expect(task?.()).resolves.toEqual({
      provider: 'claude',
      accountId: 'acc_sweep_store',
      ok: true,
      failure: null,
      stored: false,
    });
  });
});

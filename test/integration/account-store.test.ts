import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setActiveAccount } from '#shared/accounts/active.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { deleteAccount, getAccount, putNewAccount, updateAccount } from '#shared/accounts/store.ts';
import { ConditionFailedError, NotFoundError } from '#shared/errors.ts';
import { getProviderSettings, updateProviderSettings } from '#shared/settings/store.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { accountKey } from '#shared/store/keys.ts';
import { nextCursor } from '#shared/usage/cursor.ts';
import { seedAccount } from '#test/helpers/accounts.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(() => aws.stop());

describe('account store', () => {
  it('stores metadata under PROVIDER#/ACCOUNT# keys and reads it back unchanged', async () => {
    const account = await seedAccount('claude', { label: 'Prod', email: 'dev@example.com' });
    const raw = await documentClient().send(
      new GetCommand({ TableName: aws.tableName, Key: accountKey('claude', account.id) }),
    );
    expect(raw.Item).toMatchObject({
      pk: 'PROVIDER#claude',
      sk: `ACCOUNT#${account.id}`,
      type: 'account',
      label: 'Prod',
    });
    expect(await getAccount('claude', account.id)).toEqual(account);
  });

  it('refuses a second account with the same id', async () => {
    const account = await seedAccount('codex');
    await expect(putNewAccount({ ...account, label: 'other' })).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await getAccount('codex', account.id))?.label).toBe(account.label);
  });

  it('updates existing accounts only, and honours extra conditions', async () => {
    await expect(
      updateAccount({ provider: 'codex', accountId: 'acc_missing', changes: { label: 'x' } }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await getAccount('codex', 'acc_missing')).toBeUndefined();

    const account = await seedAccount('codex');
    const updated = await updateAccount({
      provider: 'codex',
      accountId: account.id,
      changes: { label: 'Renamed', status: 'refresh_failed' },
    });
    expect(updated).toMatchObject({ label: 'Renamed', status: 'refresh_failed', createdAt: account.createdAt });
    expect(updated.updatedAt > account.updatedAt).toBe(true);

    await expect(
      updateAccount({
        provider: 'codex',
        accountId: account.id,
        changes: { label: 'Lost' },
        conditions: [{ expression: '#s = :s', names: { '#s': 'status' }, values: { ':s': 'connected' } }],
      }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await getAccount('codex', account.id))?.label).toBe('Renamed');
  });

  it('moves the active pointer, and clears it only while it still names the removed account', async () => {
    const a = await seedAccount('gemini');
    const b = await seedAccount('gemini');
    expect(await setActiveAccount({ provider: 'gemini', owner: null, accountId: a.id })).toBe(true);
    expect(await setActiveAccount({ provider: 'gemini', owner: null, accountId: null, onlyIf: b.id })).toBe(false);
    expect((await getProviderSettings('gemini')).activeAccountId).toBe(a.id);
    await deleteAccount('gemini', a.id);
    expect(await setActiveAccount({ provider: 'gemini', owner: null, accountId: null, onlyIf: a.id })).toBe(true);
    expect((await getProviderSettings('gemini')).activeAccountId).toBeNull();
  });

  it('keeps members’ own active accounts apart from the server’s', async () => {
    const own = await seedAccount('grok', { owner: 'member-1' });
    await setActiveAccount({ provider: 'grok', owner: 'member-1', accountId: own.id });
    const state = await loadProviderState('grok');
    expect(state.settings.activeAccountId).toBeNull();
    expect(state.personalActive.get('member-1')).toBe(own.id);
  });

  it('updates settings attribute by attribute, so concurrent writers do not undo each other', async () => {
    await Promise.all([
      updateProviderSettings('bob', { model: 'bob-large' }),
      updateProviderSettings('bob', { keepalive: { intervalHours: 12 } }),
      updateProviderSettings('bob', { keepalive: { lastResult: 'ok', lastRefreshAt: '2026-11-22T00:00:00.000Z' } }),
    ]);
    expect(await getProviderSettings('bob')).toEqual({
      activeAccountId: null,
      model: 'bob-large',
      keepalive: {
        enabled: true,
        intervalHours: 12,
        lastRefreshAt: '2026-11-22T00:00:00.000Z',
        nextRefreshAt: null,
        lastResult: 'ok',
      },
      pool: { skipAbovePercent: 95 },
    });
  });

  it('counts the round-robin cursor atomically under concurrency', async () => {
    const values = await Promise.all(Array.from({ length: 50 }, () => nextCursor('claude')));
    expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

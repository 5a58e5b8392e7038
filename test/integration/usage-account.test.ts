import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '#shared/accounts/model.ts';
import { readAccountUsage } from '#shared/usage/account.ts';
import { createSecret } from '#shared/vault/vault.ts';
import { type FakeUsage, startFakeUsage } from '#test/helpers/fake-usage.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

const ACCESS = 'eyJ.codex-account-usage-access.5e1f';
const REFRESH = 'rt_codex-account-usage-refresh-77aa';
const NOW = Date.parse('2026-03-02T10:00:00.000Z');

let aws: LocalAws;
let fake: FakeUsage;
beforeAll(async () => {
  aws = await startLocalAws({ KEYFLEET_ALLOW_LOOPBACK_CALLS: 'true' });
  fake = await startFakeUsage();
  fake.accounts.set(ACCESS, {
    chatgptAccountId: 'acct-chatgpt-9',
    usage: {
      plan_type: 'pro',
      rate_limit: { primary_window: { used_percent: 97, limit_window_seconds: 18000, reset_at: 1772449200 } },
    },
  });
});
afterAll(async () => {
  await fake.close();
  await aws.stop();
});
afterEach(() => {
  fake.seen.length = 0;
  for (const secret of [ACCESS, REFRESH]) expect(capturedLogs()).not.toContain(secret);
});

async function codexAccount(id: string, tokens: Record<string, string | number | null> | null) {
  const secretName = `keyfleet/test/codex/${id}`;
  if (tokens) await createSecret(secretName, tokens);
  return { provider: 'codex', kind: 'oauth', secretName } satisfies Pick<Account, 'provider' | 'kind' | 'secretName'>;
}

describe('reading an account’s allowance with the access token in its vault secret', () => {
  it('reads Codex usage with the stored access token and ChatGPT account id', async () => {
    const account = await codexAccount('acc_usage1', {
      access_token: ACCESS,
      refresh_token: REFRESH,
      expires_at: NOW + 3_600_000,
      account_id: 'acct-chatgpt-9',
    });
    const result = await readAccountUsage(account, { endpoints: fake.endpoints, now: () => NOW });
    expect(result).toEqual({
      ok: true,
      usage: {
        plan: 'pro',
        readAt: '2026-03-02T10:00:00.000Z',
        windows: [{ name: 'five_hour', usedPercent: 97, resetsAt: '2026-03-02T11:00:00.000Z' }],
        credits: null,
      },
    });
    expect(fake.seen.map((s) => [s.path, s.headers.authorization, s.headers['chatgpt-account-id']])).toEqual([
      ['/backend-api/wham/usage', `Bearer ${ACCESS}`, 'acct-chatgpt-9'],
    ]);
  });

  it('sends nothing when the stored access token has expired', async () => {
    const account = await codexAccount('acc_usage2', { access_token: ACCESS, refresh_token: REFRESH, expires_at: NOW });
    expect(await readAccountUsage(account, { endpoints: fake.endpoints, now: () => NOW })).toEqual({
      ok: false,
      kind: 'credential_unavailable',
      detail: 'the access token has expired',
      status: null,
      retryAfterMs: null,
    });
    expect(fake.seen).toEqual([]);
  });

  it('answers credential_unavailable, without throwing, when the secret is missing or the account is not OAuth', async () => {
    const missing = await codexAccount('acc_usage3', null);
    expect(await readAccountUsage(missing, { endpoints: fake.endpoints })).toMatchObject({
      ok: false,
      kind: 'credential_unavailable',
      detail: 'the stored credential could not be read',
    });
    expect(await readAccountUsage({ ...missing, kind: 'api_key' }, { endpoints: fake.endpoints })).toMatchObject({
      ok: false,
      kind: 'credential_unavailable',
      detail: 'the account has no OAuth credential',
    });
    expect(fake.seen).toEqual([]);
  });

  it('answers unsupported for grok without reading its secret', async () => {
    const grok = { provider: 'grok', kind: 'oauth', secretName: 'keyfleet/test/grok/acc_none' } as const;
    expect(await readAccountUsage(grok, { endpoints: fake.endpoints })).toMatchObject({
      ok: false,
      kind: 'unsupported',
    });
  });
});

import { randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { getAccount } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { recordUsage } from '#shared/launch/usage.ts';
import { acquireLease, readLease } from '#shared/oauth/lease.ts';
import { type RefreshOutcome, refreshAccount } from '#shared/oauth/refresh.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { launchKey } from '#shared/store/keys.ts';
import { readSecret, writeSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { type SignedInAccount, signIn } from '#test/helpers/sign-in.ts';

let oauth: OAuthServer;
let api: TestApi;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ oauth, api, stop } = await startOAuthApi());
});
afterAll(() => stop());

const refreshCalls = () => oauth.requests.filter((r) => r.path === '/token' && r.body.grant_type === 'refresh_token');

// Every refresh token used here stays out of the logs and the table.
checkNoLeaksAfterEach(() => refreshCalls().map((r) => String(r.body.refresh_token)), { table: () => api.tableDump() });
const vault = async (account: SignedInAccount) =>
  (await readSecret(`keyfleet/test/${account.provider}/${account.id}`)).value;
const FAST = { backoffMs: 5 };

/**
 * A proxy's usage report that the provider rate-limits `account` until `resetsAt`, recorded as the
 * usage route records it (the account cools down). Its launch is a bare item: only its key matters.
 */
async function reportRateLimit(account: SignedInAccount, resetsAt: string): Promise<void> {
  const launchId = `lau_${randomBytes(8).toString('hex')}`;
  await documentClient().send(
    new PutCommand({ TableName: config().tableName, Item: { ...launchKey(launchId), type: 'launch' } }),
  );
  const provider = account.provider as ProviderId;
  const grant = { launchId, provider, accountId: account.id, expiresAt: resetsAt, delivery: 'proxy' as const };
  const report = { requests: 1, inputTokens: 10, outputTokens: 0, statusCounts: { '429': 1 } };
  const outcome = await recordUsage(grant, { ...report, rateLimit: { limited: true as const, resetsAt } });
  expect(outcome).toEqual({ stored: true, cooldownUntil: resetsAt });
}

describe('refresh routine against rotating refresh tokens with reuse detection', () => {
  let account: SignedInAccount;
  beforeEach(async () => {
    account = await signIn(api, oauth, 'codex', `user${Math.random().toString(36).slice(2, 8)}`);
  });

  it('lets exactly one of 20 concurrent refreshes call the token endpoint; all end with the new token', async () => {
    const before = refreshCalls().length;
    const old = (await vault(account)).refresh_token;
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => refreshAccount({ provider: 'codex', accountId: account.id, ...FAST })),
    );
    expect(refreshCalls().length - before).toBe(1);
    const fresh = (await vault(account)).refresh_token;
    expect(fresh).not.toBe(old);
    expect(outcomes.filter((o) => o.refreshed)).toHaveLength(1);
    for (const outcome of outcomes) {
      expect(outcome.result).toBe('ok');
      expect(outcome.tokens?.refresh_token).toBe(fresh);
    }
    expect((await getAccount('codex', account.id))?.status).toBe('connected');
    // The new refresh token still works: nothing reused the old one.
    expect((await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST })).result).toBe('ok');
  });

  it('leaves an account refreshed after the caller’s snapshot alone, unless forced', async () => {
    const before = refreshCalls().length;
    const snapshot = (await getAccount('codex', account.id))?.lastRefreshAt ?? null;
    // A launch refreshes the account after the sweep read it.
    expect((await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, force: true })).refreshed).toBe(
      true,
    );
    const swept = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, lastRefreshAt: snapshot });
    expect(swept).toMatchObject({ result: 'ok', refreshed: false });
    expect(swept.tokens?.refresh_token).toBe((await vault(account)).refresh_token);
    expect(refreshCalls().length - before).toBe(1);
    const forced = await refreshAccount({
      provider: 'codex',
      accountId: account.id,
      ...FAST,
      lastRefreshAt: snapshot,
      force: true,
    });
    expect(forced).toMatchObject({ result: 'ok', refreshed: true });
    expect(refreshCalls().length - before).toBe(2);
  });

  it('retries transient failures: 500, 500, then success is three calls and connected', async () => {
    const before = refreshCalls().length;
    oauth.injectTokenFailures({ status: 500 }, { status: 500 });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(refreshCalls().length - before).toBe(3);
    expect(outcome).toMatchObject({ result: 'ok', refreshed: true, account: { status: 'connected', lastError: null } });
  });

  it('honours Retry-After on 429: the second attempt comes 3 s after the first, not at the 5 ms backoff', async () => {
    oauth.injectTokenFailures({ status: 429, headers: { 'retry-after': '3' }, body: { error: 'rate_limited' } });
    const before = refreshCalls().length;
    const io = () => new Promise((resolve) => setImmediate(resolve));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
      // Real I/O runs on; only the wait between attempts is on the fake clock.
      while (refreshCalls().length - before < 1 || vi.getTimerCount() === 0) await io();
      await vi.advanceTimersByTimeAsync(2_999);
      for (let i = 0; i < 50; i++) await io();
      expect(refreshCalls().length - before).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      const outcome = await pending;
      expect(refreshCalls().length - before).toBe(2);
      expect(outcome).toMatchObject({ result: 'ok', refreshed: true, account: { status: 'connected' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up after three attempts and marks the account refresh_failed, keeping the stored token', async () => {
    const before = refreshCalls().length;
    const stored = await vault(account);
    oauth.injectTokenFailures({ status: 500 }, { status: 500 }, { status: 500 });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(refreshCalls().length - before).toBe(3);
    expect(outcome.account).toMatchObject({
      status: 'refresh_failed',
      lastError: 'Refresh failed: the token endpoint answered HTTP 500 after 3 attempts.',
    });
    expect(await vault(account)).toEqual(stored);
  });

  it('cools the account down when the token endpoint keeps rate-limiting it', async () => {
    oauth.injectTokenFailures(
      { status: 429, headers: { 'retry-after': '0' }, body: { error: 'rate_limited' } },
      { status: 429, headers: { 'retry-after': '0' }, body: { error: 'rate_limited' } },
      { status: 429, headers: { 'retry-after': '600' }, body: { error: 'rate_limited' } },
    );
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, backoffMs: 1 });
    expect(outcome.account.status).toBe('cooling_down');
    expect(Date.parse(outcome.account.cooldownUntil ?? '')).toBeGreaterThan(Date.now() + 590_000);
    const pooled = await api.call<{ provider: { accounts: { id: string; status: string }[] } }>(
      'GET',
      '/v1/providers/codex',
    );
    expect(pooled.body.provider.accounts.find((a) => a.id === account.id)?.status).toBe('cooling_down');
  });

  it('stays connected on invalid_grant when another writer already stored a newer token', async () => {
    const stored = await vault(account);
    oauth.injectTokenFailures({
      status: 400,
      body: { error: 'invalid_grant' },
      before: () =>
        writeSecret({
          name: `keyfleet/test/codex/${account.id}`,
          value: { ...stored, refresh_token: 'rotated-by-someone-else-1234' },
          requestToken: 'x'.repeat(40),
        }).then(() => undefined),
    });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(outcome.result).toBe('ok');
    expect(outcome.tokens?.refresh_token).toBe('rotated-by-someone-else-1234');
    expect((await getAccount('codex', account.id))?.status).toBe('connected');
  });

  it('marks the account needs_reconnect when the stored token itself is rejected, without retrying', async () => {
    const before = refreshCalls().length;
    oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_grant' } });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(refreshCalls().length - before).toBe(1);
    expect(outcome.account).toMatchObject({
      status: 'needs_reconnect',
      lastError: 'Codex (OpenAI) rejected the refresh token (invalid_grant); sign in again.',
    });
  });

  it('recognises OpenAI’s refresh_token_reused error shape', async () => {
    oauth.injectTokenFailures({ status: 401, body: { error: { code: 'refresh_token_reused', message: 'reused' } } });
    expect((await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST })).account.status).toBe(
      'needs_reconnect',
    );
  });

  it('retries a failed vault write with the same ClientRequestToken, so the new token is not lost', async () => {
    const previousVersion = (await readSecret(`keyfleet/test/codex/${account.id}`)).versionId;
    // Four failures outlast the SDK's own three attempts, so the routine's retry is exercised too;
    // the last one is a write that succeeded but whose answer was lost.
    api.aws.secrets.store.injectFaults(
      { operation: 'PutSecretValue', when: 'before' },
      { operation: 'PutSecretValue', when: 'before' },
      { operation: 'PutSecretValue', when: 'before' },
      { operation: 'PutSecretValue', when: 'after' },
    );
    const seen = api.aws.secrets.store.received.length;
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(outcome.result).toBe('ok');
    const writes = api.aws.secrets.store.received.slice(seen).filter((r) => r.operation === 'PutSecretValue');
    expect(writes.length).toBe(5);
    const versions = new Set(writes.map((w) => w.input.ClientRequestToken));
    expect(versions.size).toBe(1);
    const current = await readSecret(`keyfleet/test/codex/${account.id}`);
    expect(versions).toEqual(new Set([current.versionId]));
    expect(current.versionId).not.toBe(previousVersion);
    expect(current.value.refresh_token).toBe(outcome.tokens?.refresh_token);
    // The provider's new token really is the one stored: it refreshes again.
    expect((await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST })).result).toBe('ok');
  });

  it('regression: a refresher whose lease was taken over mid-refresh writes nothing to the account and calls the token endpoint no more', async () => {
    const before = refreshCalls().length;
    const takeOver = async () => {
      // This refresh stalls past its lease; the next refresher takes over.
      vi.setSystemTime(Date.now() + 200_000);
      const taken = await acquireLease({
        provider: 'codex',
        accountId: account.id,
        owner: 'next-holder',
        durationMs: 60_000,
      });
      expect(taken?.account.id).toBe(account.id);
    };
    oauth.injectTokenFailures({ status: 500, before: takeOver });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
      expect(refreshCalls().length - before).toBe(1);
      expect(outcome.result).toBe('failed');
      expect(outcome.account).toMatchObject({ status: 'connected', lastError: null });
      expect(await getAccount('codex', account.id)).toMatchObject({ status: 'connected', lastError: null });
      expect((await readLease({ provider: 'codex', accountId: account.id })).leaseOwner).toBe('next-holder');
    } finally {
      vi.useRealTimers();
    }
  });

  it('regression: a refresher whose lease ran out between attempts sends no spent refresh token, so the rotated grant survives', async () => {
    const before = refreshCalls().length;
    const spent = (await vault(account)).refresh_token;
    let other: RefreshOutcome | undefined;
    // The first attempt fails; meanwhile this refresher's 120 s lease runs out and another one rotates the token.
    const rotateElsewhere = async () => {
      vi.setSystemTime(Date.now() + 121_000);
      other = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    };
    oauth.injectTokenFailures({ status: 500, before: rotateElsewhere });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
      const successor = (await vault(account)).refresh_token;
      expect(successor).not.toBe(spent);
      expect(other).toMatchObject({ result: 'ok', refreshed: true, tokens: { refresh_token: successor } });
      // The stalled refresher's first attempt and the other refresher's call; the spent token was not sent again.
      expect(
        refreshCalls()
          .slice(before)
          .map((call) => call.body.refresh_token),
      ).toEqual([spent, spent]);
      expect(outcome).toMatchObject({
        result: 'ok',
        refreshed: false,
        tokens: { refresh_token: successor },
        account: { status: 'connected', lastError: null },
      });
      // The grant was not revoked: the successor refreshes.
      const next = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, force: true });
      expect(next).toMatchObject({ result: 'ok', refreshed: true, account: { status: 'connected' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops retrying when an answer comes too late for another attempt inside the lease, and writes nothing', async () => {
    const before = refreshCalls().length;
    const stored = await vault(account);
    const seen = await getAccount('codex', account.id);
    // The answer (a 500) comes once the 120 s lease has 10 s left: room for the writes, not for a call.
    const lateAnswer = async () => {
      vi.setSystemTime(Date.now() + 110_000);
    };
    oauth.injectTokenFailures({ status: 500, before: lateAnswer });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
      expect(refreshCalls().length - before).toBe(1);
      expect(outcome).toMatchObject({ result: 'failed', refreshed: false, tokens: stored });
      expect(await getAccount('codex', account.id)).toEqual(seen);
      expect(await vault(account)).toEqual(stored);
      expect((await readLease({ provider: 'codex', accountId: account.id })).leaseOwner).toBe(null);
    } finally {
      vi.useRealTimers();
    }
  });

  it('regression: a rate-limit cooldown reported while a refresh runs outlasts the refresh', async () => {
    const resetsAt = new Date(Date.now() + 3_600_000).toISOString();
    oauth.injectTokenFailures({ status: 500, before: () => reportRateLimit(account, resetsAt) });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(outcome).toMatchObject({ result: 'ok', refreshed: true });
    const expected = { status: 'cooling_down', cooldownUntil: resetsAt, lastError: null };
    expect(outcome.account).toMatchObject(expected);
    expect(await getAccount('codex', account.id)).toMatchObject({
      ...expected,
      lastRefreshAt: outcome.account.lastRefreshAt,
    });
    expect((await readLease({ provider: 'codex', accountId: account.id })).leaseOwner).toBe(null);
  });

  it('regression: a refresh that fails keeps a rate-limit cooldown reported while it ran', async () => {
    const resetsAt = new Date(Date.now() + 3_600_000).toISOString();
    oauth.injectTokenFailures(
      { status: 500, before: () => reportRateLimit(account, resetsAt) },
      { status: 500 },
      { status: 500 },
    );
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    const expected = {
      status: 'cooling_down',
      cooldownUntil: resetsAt,
      lastError: 'Refresh failed: the token endpoint answered HTTP 500 after 3 attempts.',
    };
    expect(outcome).toMatchObject({ result: 'failed', account: expected });
    expect(await getAccount('codex', account.id)).toMatchObject(expected);
  });

  it('takes over the lease of a holder that crashed once the lease runs out', async () => {
    const held = await acquireLease({
      provider: 'codex',
      accountId: account.id,
      owner: 'crashed-holder',
      durationMs: 300,
    });
    expect(held?.account.id).toBe(account.id);
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST });
    expect(outcome.result).toBe('ok');
  });
});

describe('the test server behaves per provider', () => {
  /** A refresh grant sent straight to the test server, as a second holder of the token would. */
  async function spend(clientId: string, refreshToken: string, secret?: string) {
    const response = await fetch(`${oauth.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: clientId,
        ...(secret ? { client_secret: secret } : {}),
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('revokes a rotating Codex grant when a spent refresh token is used again', async () => {
    const account = await signIn(api, oauth, 'codex', 'reuser');
    const spent = String((await vault(account)).refresh_token);
    expect((await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, force: true })).result).toBe(
      'ok',
    );
    const successor = String((await vault(account)).refresh_token);
    expect(successor).not.toBe(spent);
    expect(await spend('codex-client', spent)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // Reuse revoked the whole grant: the successor is dead too, and the account needs a new sign-in.
    expect(await spend('codex-client', successor)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const outcome = await refreshAccount({ provider: 'codex', accountId: account.id, ...FAST, force: true });
    expect(outcome.account.status).toBe('needs_reconnect');
  });

  it('keeps a Gemini refresh token valid however often it is used, and leaves it out of refresh answers', async () => {
    const account = await signIn(api, oauth, 'gemini', 'sharer');
    const token = String((await vault(account)).refresh_token);
    const first = await spend('gemini-client', token, 'gemini-test-client-secret');
    const second = await spend('gemini-client', token, 'gemini-test-client-secret');
    for (const answer of [first, second]) {
      expect(answer.status).toBe(200);
      expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    }
    expect(first.body.access_token).not.toBe(second.body.access_token);
    const outcome = await refreshAccount({ provider: 'gemini', accountId: account.id, ...FAST, force: true });
    expect(outcome).toMatchObject({ result: 'ok', refreshed: true, tokens: { refresh_token: token } });
  });
});

describe('Claude refresh', () => {
  it('sends the refresh as JSON with the CLI-like User-Agent', async () => {
    const account = await signIn(api, oauth, 'claude', 'claudia');
    await refreshAccount({ provider: 'claude', accountId: account.id, ...FAST, force: true });
    const call = refreshCalls().at(-1);
    expect(call?.contentType).toBe('application/json');
    expect(call?.userAgent).toMatch(/^claude-cli\//);
    expect(call?.body).toMatchObject({ grant_type: 'refresh_token', client_id: 'claude-client' });
  });
});

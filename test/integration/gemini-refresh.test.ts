import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAccount } from '#shared/accounts/store.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { type SignedInAccount, signIn } from '#test/helpers/sign-in.ts';

/**
 * Google's refresh tokens do not rotate: every refresh spends the same one. Each refresh must
 * still be a new vault version, through every path that refreshes.
 */

let oauth: OAuthServer;
let ecs: FakeEcs;
let api: TestApi;
let stop: () => Promise<void>;

const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
  securityGroups: ['sg-0123456789abcdef0'],
};
const HOUR = 3_600_000;

beforeAll(async () => {
  ecs = await startFakeEcs();
  ({ oauth, api, stop } = await startOAuthApi(undefined, {
    AWS_ENDPOINT_URL_ECS: ecs.endpoint,
    KEYFLEET_LAUNCH_CLUSTERS: 'arn:aws:ecs:eu-west-1:111122223333:cluster/agents',
    KEYFLEET_LAUNCH_TASK_FAMILIES: 'agent',
  }));
});
afterAll(async () => {
  await stop();
  await ecs.close();
});

const secretOf = (account: SignedInAccount) => `keyfleet/test/gemini/${account.id}`;
const refreshBodies = () =>
  oauth.requests.filter((r) => r.path === '/token' && r.body.grant_type === 'refresh_token').map((r) => r.body);

// The refresh tokens spent and the access tokens shown to userinfo stay out of the logs and the table.
checkNoLeaksAfterEach(
  () => [
    ...refreshBodies().map((body) => String(body.refresh_token)),
    ...oauth.userinfoRequests.map((request) => request.authorization.replace(/^Bearer /, '')),
  ],
  { table: () => api.tableDump() },
);

/** The secret's versions as the local Secrets Manager endpoint lists them, through the real SDK client. */
async function versionsOf(account: SignedInAccount): Promise<Record<string, string[]>> {
  const out = await new SecretsManagerClient({}).send(new DescribeSecretCommand({ SecretId: secretOf(account) }));
  return out.VersionIdsToStages ?? {};
}

interface Observed {
  versionId: string;
  accessToken: string;
  refreshToken: string;
}

async function observe(account: SignedInAccount): Promise<Observed> {
  const { value, versionId } = await readSecret(secretOf(account));
  return { versionId, accessToken: String(value.access_token), refreshToken: String(value.refresh_token) };
}

/** After the n-th refresh: one more version, now current, the same refresh token, a new access token. */
async function expectNewVersion(account: SignedInAccount, before: Observed, history: string[]): Promise<Observed> {
  const after = await observe(account);
  expect(after.versionId).not.toBe(before.versionId);
  expect(history).not.toContain(after.versionId);
  expect(after.accessToken).not.toBe(before.accessToken);
  expect(after.refreshToken).toBe(before.refreshToken);
  history.push(after.versionId);
  const versions = await versionsOf(account);
  expect(versions[after.versionId]).toEqual(['AWSCURRENT']);
  expect(versions[before.versionId]).toEqual(['AWSPREVIOUS']);
  expect(Object.keys(versions)).toHaveLength(history.length);
  const stored = await getAccount('gemini', account.id);
  expect(stored).toMatchObject({ status: 'connected', lastError: null });
  return after;
}

describe('a Gemini-like account (refresh token never rotates)', () => {
  it('regression: gemini refresh token that does not rotate refreshes three times in a row through the sweep', async () => {
    const account = await signIn(api, oauth, 'gemini', 'sweeper');
    let seen = await observe(account);
    const history = [seen.versionId];
    const calls = refreshBodies().length;
    for (let round = 1; round <= 3; round++) {
      // Two hours on, the one-hour access token is inside Gemini's 10-minute lead: the account is due.
      const summary = await sweep({ now: Date.now() + 2 * HOUR * round });
      expect(summary.providers.gemini).toEqual({ enabled: true, due: 1, failed: 0 });
      expect(summary).toMatchObject({ due: 1, refreshed: 1, failed: 0 });
      seen = await expectNewVersion(account, seen, history);
    }
    const spent = refreshBodies().slice(calls);
    expect(spent).toHaveLength(3);
    for (const body of spent) {
      expect(body).toMatchObject({
        grant_type: 'refresh_token',
        client_id: 'gemini-client',
        refresh_token: seen.refreshToken,
      });
    }
    const settings = await api.call<{ keepalive: { gemini: { lastResult: string | null } } }>('GET', '/v1/settings');
    expect(settings.body.keepalive.gemini.lastResult).toBe('ok');
  });

  it('regression: gemini refresh token that does not rotate refreshes three times in a row through launches', async () => {
    const account = await signIn(api, oauth, 'gemini', 'launcher');
    let seen = await observe(account);
    const history = [seen.versionId];
    const calls = refreshBodies().length;
    const launched = ecs.runTasks.length;
    for (let round = 1; round <= 3; round++) {
      // Three hours outlast the one-hour access token, so every launch refreshes first.
      const res = await api.call<{ launch: { accountId: string; warnings: string[] } }>('POST', '/v1/launches', {
        as: 'alice',
        body: { provider: 'gemini', preferredAccountId: account.id, maxDurationMinutes: 180, ecs: ECS },
      });
      expect(res.status).toBe(201);
      expect(res.body.launch.accountId).toBe(account.id);
      expect(refreshBodies().length - calls).toBe(round);
      seen = await expectNewVersion(account, seen, history);
    }
    expect(ecs.runTasks.length - launched).toBe(3);
    expect(
      refreshBodies()
        .slice(calls)
        .map((b) => b.refresh_token),
    ).toEqual([seen.refreshToken, seen.refreshToken, seen.refreshToken]);
  });

  it('retries a lost vault write as the same version, and the next refresh is a new one', async () => {
    const account = await signIn(api, oauth, 'gemini', 'retrier');
    const before = await observe(account);
    const history = [before.versionId];
    // The write succeeds but its answer is lost, then the SDK's own retries fail too.
    api.aws.secrets.store.injectFaults(
      { operation: 'PutSecretValue', when: 'after' },
      { operation: 'PutSecretValue', when: 'before' },
      { operation: 'PutSecretValue', when: 'before' },
    );
    const seen = api.aws.secrets.store.received.length;
    const outcome = await refreshAccount({ provider: 'gemini', accountId: account.id, backoffMs: 5, force: true });
    expect(outcome).toMatchObject({ result: 'ok', refreshed: true });
    const writes = api.aws.secrets.store.received.slice(seen).filter((r) => r.operation === 'PutSecretValue');
    expect(writes.length).toBeGreaterThanOrEqual(4);
    const after = await expectNewVersion(account, before, history);
    expect(new Set(writes.map((w) => w.input.ClientRequestToken))).toEqual(new Set([after.versionId]));
    expect(
      (await refreshAccount({ provider: 'gemini', accountId: account.id, backoffMs: 5, force: true })).result,
    ).toBe('ok');
    await expectNewVersion(account, after, history);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyfleetClient } from '#shared/proxy/client.ts';
import { CredentialKeeper, RENEW_BACKOFF_MS, RENEW_BEFORE_MS } from '#shared/proxy/credentials.ts';
import { type ProxyGrant, Secret } from '#shared/proxy/grant.ts';

const T0 = Date.parse('2026-11-22T12:00:00.000Z');

function grant(overrides: Partial<ProxyGrant> = {}): ProxyGrant {
  return {
    provider: 'codex',
    kind: 'oauth',
    upstreams: [new URL('https://chatgpt.com/backend-api/codex')],
    credential: new Secret('access-0'),
    credentialExpiresAt: T0 + 3600_000,
    accountId: 'acct',
    taskToken: new Secret('task-token'),
    expiresAt: '2026-11-22T20:00:00.000Z',
    model: null,
    effort: null,
    queryParams: {},
    ...overrides,
  };
}

/** A client whose token answers are scripted; records each call's arguments. */
function client(answers: ({ accessToken: string; expiresIn: number } | Error)[]) {
  const calls: [string, string, boolean][] = [];
  const fake: KeyfleetClient = {
    redeem: () => Promise.reject(new Error('not used')),
    usage: () => Promise.resolve(),
    token: async (taskToken, provider, recover) => {
      calls.push([taskToken, provider, recover]);
      const next = answers.shift() ?? new Error('keyfleet proxy: token renewal answered 503 upstream_error');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { fake, calls };
}

let now = T0;
const errors: string[] = [];
beforeEach(() => {
  now = T0;
  errors.length = 0;
  vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => vi.useRealTimers());

const keeper = (g: ProxyGrant, c: KeyfleetClient) =>
  new CredentialKeeper(
    g,
    c,
    () => now,
    (m) => errors.push(m),
  );

describe('CredentialKeeper', () => {
  it('uses the profile’s token while it has more than the renewal margin left', async () => {
    const { fake, calls } = client([]);
    const k = keeper(grant(), fake);
    now = T0 + 3600_000 - RENEW_BEFORE_MS - 1;
    expect((await k.current()).reveal()).toBe('access-0');
    expect(calls).toEqual([]);
  });

  it('awaits a renewal once the token has expired', async () => {
    const { fake, calls } = client([{ accessToken: 'access-1', expiresIn: 3600 }]);
    const k = keeper(grant(), fake);
    now = T0 + 3600_000;
    expect((await k.current()).reveal()).toBe('access-1');
    expect(calls).toEqual([['task-token', 'codex', false]]);
    expect(k.expiresAt).toBe(now + 3600_000);
  });

  it('renews in the background inside the margin and answers the current token meanwhile', async () => {
    const { fake, calls } = client([{ accessToken: 'access-1', expiresIn: 3600 }]);
    const k = keeper(grant(), fake);
    now = T0 + 3600_000 - 60_000;
    expect((await k.current()).reveal()).toBe('access-0');
    await vi.waitFor(async () => expect((await k.current()).reveal()).toBe('access-1'));
    expect(calls).toHaveLength(1);
  });

  it('renews once for concurrent callers (single flight)', async () => {
    const { fake, calls } = client([{ accessToken: 'access-1', expiresIn: 3600 }]);
    const k = keeper(grant(), fake);
    now = T0 + 3600_000 + 1;
    const tokens = await Promise.all([k.current(), k.current(), k.renew(true)]);
    expect(tokens.slice(0, 2).map((t) => (t as Secret).reveal())).toEqual(['access-1', 'access-1']);
    expect(calls).toHaveLength(1);
  });

  it('after a failed renewal keeps the old token, logs the route and status, and waits before trying again', async () => {
    const { fake, calls } = client([new Error('keyfleet proxy: token renewal answered 503 upstream_error')]);
    const k = keeper(grant(), fake);
    now = T0 + 3600_000 - 60_000;
    expect(await k.renew(false)).toBe(false);
    expect((await k.current()).reveal()).toBe('access-0');
    expect(await k.renew(false)).toBe(false);
    expect(calls).toHaveLength(1);
    expect(errors).toEqual(['keyfleet proxy: token renewal answered 503 upstream_error']);
    now += RENEW_BACKOFF_MS;
    await k.renew(false);
    expect(calls).toHaveLength(2);
  });

  it('asks with recover after a 401 and reports whether the token changed', async () => {
    const { fake, calls } = client([
      { accessToken: 'access-0', expiresIn: 3600 },
      { accessToken: 'access-2', expiresIn: 3600 },
    ]);
    const k = keeper(grant(), fake);
    expect(await k.renew(true)).toBe(false);
    expect(await k.renew(true)).toBe(true);
    expect(calls).toEqual([
      ['task-token', 'codex', true],
      ['task-token', 'codex', true],
    ]);
  });

  it('start(): renews at once when the expiry is unknown, and by timer before a known expiry', async () => {
    const unknown = client([{ accessToken: 'access-1', expiresIn: 28_800 }]);
    keeper(grant({ provider: 'claude', credentialExpiresAt: null }), unknown.fake).start();
    await vi.waitFor(() => expect(unknown.calls).toEqual([['task-token', 'claude', false]]));

    const known = client([{ accessToken: 'access-1', expiresIn: 3600 }]);
    const k = keeper(grant(), known.fake);
    k.start();
    now = T0 + 3600_000 - RENEW_BEFORE_MS;
    await vi.advanceTimersByTimeAsync(3600_000 - RENEW_BEFORE_MS - 1);
    expect(known.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(known.calls).toEqual([['task-token', 'codex', false]]);
    k.close();
  });

  it('never renews an API key', async () => {
    const { fake, calls } = client([]);
    const k = keeper(grant({ kind: 'api_key', credentialExpiresAt: null }), fake);
    k.start();
    expect(await k.renew(true)).toBe(false);
    expect(k.renews).toBe(false);
    expect(calls).toEqual([]);
  });
});

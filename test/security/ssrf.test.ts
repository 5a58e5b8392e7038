import type { LookupAddress } from 'node:dns';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BlockedAddressError, outboundRequest, type ResolveHost } from '#shared/net/outbound.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { type CountingListener, installTripwire, startCountingListener } from '#test/security/ssrf-listener.ts';
import { RESOLVED, refusedSpellings, SPELLINGS } from '#test/security/ssrf-table.ts';

/**
 * The SSRF table from the outside: every special spelling is refused when an account is saved
 * through the real local API, and every refused spelling (loopback included, with loopback calls
 * off) is refused at connect time by the account test and by outboundRequest, observed by a
 * loopback listener that must see no connection at all.
 */

const API_KEY = 'sk-proj-ssrf-table-key-4821';
const ADDRESS_NOT_ALLOWED = 'Address not allowed: Keyfleet does not call private, link-local or metadata addresses.';
const NOT_HTTPS = 'must use https:// (http:// is accepted only for loopback hosts)';
const SPECIAL = 'points at a private, link-local, metadata or other special-purpose address';

let api: TestApi;
let listener: CountingListener;
let tripwire: ReturnType<typeof installTripwire>;
let blockedConnections = 0;
const refused = { save: new Set<string>(), accountTest: new Set<string>(), outbound: new Set<string>() };

beforeAll(async () => {
  listener = await startCountingListener();
  api = await startTestApi();
  tripwire = installTripwire();
});
afterEach(() => {
  process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
});
afterAll(async () => {
  tripwire.uninstall();
  const all = new Set([...refused.save, ...refused.accountTest, ...refused.outbound]);
  console.log(
    `ssrf: ${all.size} spellings refused (${refused.save.size} at save time through the API, ` +
      `${refused.accountTest.size} by the account test, ${refused.outbound.size} by outboundRequest); ` +
      `listener connections from blocked spellings: ${blockedConnections}; connections stopped by the tripwire: ${tripwire.stopped.length}`,
  );
  await api.stop();
  await listener.close();
});

async function secretNames(): Promise<string[]> {
  const out = await new SecretsManagerClient({}).send(new ListSecretsCommand({ MaxResults: 100 }));
  return (out.SecretList ?? []).map((s) => s.Name ?? '').sort();
}

const create = (baseUrl: string) =>
  api.call<{ account?: { id: string }; error?: { code: string; message: string } }>(
    'POST',
    '/v1/providers/codex/accounts',
    { body: { kind: 'api_key', label: 'ssrf', apiKey: API_KEY, endpoint: { type: 'custom', baseUrl } } },
  );

const testAccount = (id: string) =>
  api.call<{ ok: boolean; detail: string }>('POST', `/v1/providers/codex/accounts/${id}/test`);

/** Answers only the names it is given; 127.0.0.1 comes first wherever it is listed. */
function resolverFor(name: string, answers: LookupAddress[]): ResolveHost {
  return async (hostname) => {
    if (hostname !== name) throw Object.assign(new Error(`unexpected lookup of ${hostname}`), { code: 'ENOTFOUND' });
    return answers;
  };
}

describe('at save time', () => {
  const special = SPELLINGS.filter((s) => s.kind === 'special');

  it('refuses every special spelling with validation_failed and stores nothing', async () => {
    const tableBefore = await api.tableDump();
    const secretsBefore = await secretNames();
    for (const { host } of special) {
      for (const [url, reason] of [
        [`https://${host}/v1`, SPECIAL],
        [`http://${host}:${listener.port}/v1`, NOT_HTTPS],
      ] as const) {
        const res = await create(url);
        expect({ url, status: res.status, code: res.body.error?.code }).toEqual({
          url,
          status: 400,
          code: 'validation_failed',
        });
        expect(res.body.error?.message).toBe(`Invalid endpoint: baseUrl ${reason}`);
      }
      refused.save.add(host);
    }
    expect(await api.tableDump()).toBe(tableBefore);
    expect(await secretNames()).toEqual(secretsBefore);
    expect(listener.connections()).toBe(0);
  });

  it('accepts loopback and public spellings as before', async () => {
    for (const { host } of SPELLINGS.filter((s) => s.kind !== 'special')) {
      const res = await create(`https://${host}/v1`);
      expect({ host, status: res.status }).toEqual({ host, status: 201 });
    }
    expect(listener.connections()).toBe(0);
  });

  it('regression: IPv4-mapped IPv6 ::ffff:169.254.169.254 bypasses the private-address guard', async () => {
    for (const url of [
      'https://[::ffff:169.254.169.254]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://[::ffff:10.0.0.1]/',
    ]) {
      expect((await create(url)).status).toBe(400);
    }
  });
});

describe('at connect time, the mapped loopback address', () => {
  it('regression: IPv4-mapped IPv6 ::ffff:127.0.0.1 bypasses the loopback block of deployed functions', async () => {
    const created = await create(`https://[::ffff:127.0.0.1]:${listener.port}/v1`);
    expect(created.status).toBe(201);
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    const before = listener.connections();
    const res = await testAccount(created.body.account?.id ?? '');
    expect(res.body).toEqual({ ok: false, detail: ADDRESS_NOT_ALLOWED });
    blockedConnections += listener.connections() - before;
    expect(listener.connections() - before).toBe(0);
  });
});

describe('at connect time, the account test', () => {
  const loopback = SPELLINGS.filter((s) => s.kind === 'loopback');
  const accounts = new Map<string, string>();

  beforeAll(async () => {
    for (const { host } of loopback) {
      const res = await create(`http://${host}:${listener.port}/v1`);
      expect({ host, status: res.status }).toEqual({ host, status: 201 });
      accounts.set(host, res.body.account?.id ?? '');
    }
  });

  it('reaches the listener through a loopback endpoint while loopback calls are allowed', async () => {
    const before = listener.connections();
    const res = await testAccount(accounts.get('127.1') ?? '');
    expect(res.body).toEqual({ ok: true, detail: 'Authenticated: HTTP 200.' });
    expect(listener.connections() - before).toBe(1);
  });

  it('refuses every loopback spelling when loopback calls are not allowed, with a fixed detail', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    const before = listener.connections();
    for (const [host, id] of accounts) {
      const res = await testAccount(id);
      expect({ host, body: res.body }).toEqual({ host, body: { ok: false, detail: ADDRESS_NOT_ALLOWED } });
      refused.accountTest.add(host);
    }
    blockedConnections += listener.connections() - before;
    expect(listener.connections() - before).toBe(0);
    expect(tripwire.stopped).toEqual([]);
  });

  it('answers a refused connection with a fixed phrase, not the socket error', async () => {
    const closed = await startCountingListener();
    const port = closed.port;
    await closed.close();
    const res = await create(`http://127.0.0.1:${port}/v1`);
    const test = await testAccount(res.body.account?.id ?? '');
    expect(test.body).toEqual({ ok: false, detail: 'Could not connect.' });
    expect(capturedLogs()).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('keeps the key out of logs and responses, and the listener port out of responses', () => {
    const responses = api.responses.join('\n');
    expect(capturedLogs().includes(API_KEY)).toBe(false);
    expect(responses.includes(API_KEY)).toBe(false);
    const details = api.responses.filter((r) => r.includes('"detail"')).join('\n');
    expect(details).not.toContain(String(listener.port));
    expect(details).not.toMatch(/E[A-Z]{4,}|127\.0\.0\.1|::ffff/);
  });
});

describe('at connect time, outboundRequest', () => {
  it('refuses every special and loopback spelling when loopback calls are not allowed', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    const before = listener.connections();
    for (const { host } of refusedSpellings(false)) {
      const outcome = await outboundRequest(new URL(`http://${host}:${listener.port}/`)).catch((e: unknown) => e);
      expect({ host, blocked: outcome instanceof BlockedAddressError }).toEqual({ host, blocked: true });
      refused.outbound.add(host);
    }
    blockedConnections += listener.connections() - before;
    expect(listener.connections() - before).toBe(0);
    expect(tripwire.stopped).toEqual([]);
  });

  it('refuses names whose answers include a special address, even next to an allowed one', async () => {
    const before = listener.connections();
    for (const { address, family } of RESOLVED.filter((r) => r.kind === 'special')) {
      const name = 'svc.ssrf.example.test';
      const resolve = resolverFor(name, [
        { address: '127.0.0.1', family: 4 },
        { address, family },
      ]);
      const outcome = await outboundRequest(new URL(`http://${name}:${listener.port}/`), { resolve }).catch(
        (e: unknown) => e,
      );
      expect({ address, blocked: outcome instanceof BlockedAddressError }).toEqual({ address, blocked: true });
      refused.outbound.add(`name → ${address}`);
    }
    blockedConnections += listener.connections() - before;
    expect(listener.connections() - before).toBe(0);
  });

  it('refuses names resolving to any loopback spelling when loopback calls are not allowed', async () => {
    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    const before = listener.connections();
    for (const { address, family } of RESOLVED.filter((r) => r.kind === 'loopback')) {
      const name = 'loop.ssrf.example.test';
      const resolve = resolverFor(name, [{ address, family }]);
      const outcome = await outboundRequest(new URL(`http://${name}:${listener.port}/`), { resolve }).catch(
        (e: unknown) => e,
      );
      expect({ address, blocked: outcome instanceof BlockedAddressError }).toEqual({ address, blocked: true });
      refused.outbound.add(`name → ${address}`);
    }
    blockedConnections += listener.connections() - before;
    expect(listener.connections() - before).toBe(0);
  });

  it('still connects to a name resolving to loopback when loopback calls are allowed', async () => {
    const before = listener.connections();
    const resolve = resolverFor('ok.ssrf.example.test', [{ address: '127.0.0.1', family: 4 }]);
    const response = await outboundRequest(new URL(`http://ok.ssrf.example.test:${listener.port}/`), { resolve });
    expect(response.status).toBe(200);
    expect(listener.connections() - before).toBe(1);
  });
});

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolveHost } from '#shared/net/outbound.ts';
import { startProxy } from '#shared/proxy/server.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';
import { startRecordingUpstream } from '#test/helpers/proxy-upstream.ts';

/**
 * The saved-endpoint rule holds after DNS too: the proxy connects only to addresses the rule
 * allows, so a name that resolves (or is rebound) to a private or metadata address never gets the
 * credential. The resolver is injected; the upstream listens on loopback.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function proxyTo(resolve: ResolveHost) {
  const upstream = await startRecordingUpstream();
  cleanups.push(upstream.close);
  const expiresAt = Date.now() + 3600_000;
  const credential = realCredential('claude', 'api_key', expiresAt);
  const ticket = `kfk_${randomBytes(16).toString('hex')}`;
  const profile = ticketProfile('claude', 'api_key', {
    upstream: upstream.base.replace('127.0.0.1', 'localhost'),
    credential,
    taskToken: `kft_${randomBytes(16).toString('hex')}`,
    expiresAt,
  });
  const keyfleet = await startFakeKeyfleet(ticket, profile);
  cleanups.push(keyfleet.close);
  const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0, reportIntervalMs: 3600_000, resolve });
  cleanups.push(proxy.close);
  const ask = () =>
    fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': proxy.profile.env.ANTHROPIC_API_KEY ?? '' },
      body: '{"model":"m","max_tokens":1,"messages":[]}',
    });
  return { upstream, credential, ask };
}

describe('the proxy’s upstream after DNS', () => {
  it.each([
    ['a metadata address', '169.254.169.254'],
    ['a private address', '10.0.0.8'],
  ])('regression: refuses an upstream name that resolves to %s and sends it nothing', async (_, address) => {
    const { upstream, credential, ask } = await proxyTo(async () => [{ address, family: 4 }]);
    const res = await ask();
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain(credential);
    expect(upstream.requests).toEqual([]);
    expect(capturedLogs()).not.toContain(credential);
  });

  it('connects to an upstream name that resolves to loopback, with the real credential', async () => {
    const { upstream, credential, ask } = await proxyTo(async () => [{ address: '127.0.0.1', family: 4 }]);
    const res = await ask();
    expect(res.status).toBe(200);
    expect(upstream.requests.map((r) => r.headers['x-api-key'])).toEqual([credential]);
  });
});

import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy } from '#shared/proxy/server.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';
import { startRecordingUpstream } from '#test/helpers/proxy-upstream.ts';

/** An agent that gives up on a request makes the proxy give up on the provider's side too. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an agent that leaves before the answer starts', () => {
  it('regression: the upstream request is closed at once, not left to run to its end', async () => {
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<number>((resolve) => {
      upstreamClosed = () => resolve(Date.now());
    });
    // The provider "thinks" for 10 s before answering: the agent leaves long before that.
    const upstream = await startRecordingUpstream((_request, res) => {
      res.once('close', upstreamClosed);
      const answer = setTimeout(() => res.end('{}'), 10_000);
      res.once('close', () => clearTimeout(answer));
    });
    cleanups.push(upstream.close);
    const expiresAt = Date.now() + 3600_000;
    const ticket = `kfk_${randomBytes(16).toString('hex')}`;
    const profile = ticketProfile('claude', 'api_key', {
      upstream: upstream.base,
      credential: realCredential('claude', 'api_key', expiresAt),
      taskToken: `kft_${randomBytes(16).toString('hex')}`,
      expiresAt,
    });
    const keyfleet = await startFakeKeyfleet(ticket, profile);
    cleanups.push(keyfleet.close);
    const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0, reportIntervalMs: 3600_000 });
    cleanups.push(proxy.close);

    const agent = request(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': proxy.profile.env.ANTHROPIC_API_KEY ?? '' },
    });
    agent.on('error', () => {});
    agent.end('{"model":"m","max_tokens":1,"messages":[]}');
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => {
        if (upstream.requests.length > 0) {
          clearInterval(wait);
          resolve();
        }
      }, 10);
    });
    const left = Date.now();
    agent.destroy();
    expect((await closed) - left).toBeLessThan(5_000);
  }, 15_000);
});

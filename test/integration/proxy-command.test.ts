import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAgentProfile, startProxyProcess } from '#shared/proxy/agent.ts';
import { runProxyCommand } from '#shared/proxy/command.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { ticketProfile } from '#test/helpers/proxy-profiles.ts';
import { startRecordingUpstream } from '#test/helpers/proxy-upstream.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function world() {
  const upstream = await startRecordingUpstream();
  cleanups.push(upstream.close);
  const key = `sk-ant-api03-real-${randomBytes(12).toString('hex')}`;
  const taskToken = `kft_${randomBytes(12).toString('hex')}`;
  const ticket = `kftk_${randomBytes(12).toString('hex')}`;
  const keyfleet = await startFakeKeyfleet(
    ticket,
    ticketProfile('claude', 'api_key', { upstream: upstream.base, credential: key, taskToken }),
  );
  cleanups.push(keyfleet.close);
  return { upstream, keyfleet, key, taskToken, ticket };
}

describe('keyfleet proxy (command)', () => {
  it('prints one ready line, serves, answers its health check, and on SIGTERM reports usage and exits 0', async () => {
    const w = await world();
    const proxy = await startProxyProcess(
      [process.execPath, '--import', 'tsx', 'shared/proxy/main.ts', '--port', '0'],
      {
        PATH: process.env.PATH ?? '',
        KEYFLEET_URL: w.keyfleet.url,
        KEYFLEET_TICKET: w.ticket,
      },
    );
    cleanups.push(async () => {
      if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL');
    });
    expect([proxy.provider, proxy.kind, proxy.url]).toEqual([
      'claude',
      'api_key',
      expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    ]);
    const port = new URL(proxy.url).port;
    expect(await runProxyCommand(['--health', '--port', port], {})).toBe(0);

    const profile = await fetchAgentProfile(proxy.url);
    await expect(fetchAgentProfile(proxy.url)).rejects.toThrow(
      'keyfleet exec: the proxy has already handed out its agent profile',
    );
    const answer = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': profile.env.ANTHROPIC_API_KEY ?? '', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(answer.status).toBe(200);
    expect(w.upstream.requests[0]?.headers['x-api-key']).toBe(w.key);

    expect(await proxy.stop()).toBe(0);
    expect(w.keyfleet.usageCalls.map((c) => c.body)).toEqual([
      { requests: 1, inputTokens: 0, outputTokens: 0, statusCounts: { '200': 1 } },
    ]);
    expect(w.keyfleet.redemptions).toEqual([{ ticket: w.ticket }]);
    // The child's stderr came through ours, so the capture holds it too.
    const logs = capturedLogs();
    for (const secret of [w.key, w.taskToken, w.ticket, profile.env.ANTHROPIC_API_KEY ?? '']) {
      expect(logs).not.toContain(secret);
    }
  });

  it('startProxyProcess rejects with the exit code when the proxy stops before it is ready', async () => {
    const w = await world();
    const command = [process.execPath, '--import', 'tsx', 'shared/proxy/main.ts', '--port', '0'];
    await expect(
      startProxyProcess(command, {
        PATH: process.env.PATH ?? '',
        KEYFLEET_URL: w.keyfleet.url,
        KEYFLEET_TICKET: 'spent',
      }),
    ).rejects.toThrow('keyfleet proxy: exited with 1 before it was ready');
  });

  it('fails its health check when nothing listens', async () => {
    expect(await runProxyCommand(['--health', '--port=9'], {})).toBe(1);
  });

  it('exits 2 on bad arguments or a missing ticket, and 1 with the status when redemption fails', async () => {
    expect(await runProxyCommand(['--port', 'eighty'], {})).toBe(2);
    expect(await runProxyCommand(['--verbose'], {})).toBe(2);
    expect(await runProxyCommand([], { KEYFLEET_URL: 'http://127.0.0.1:9' })).toBe(2);
    const w = await world();
    const spent = await runProxyCommand(['--port', '0'], {
      KEYFLEET_URL: w.keyfleet.url,
      KEYFLEET_TICKET: 'not-the-ticket',
    });
    expect(spent).toBe(1);
    const logs = capturedLogs();
    expect(logs).toContain('keyfleet proxy: the port must be a number from 0 to 65535');
    expect(logs).toContain('keyfleet proxy: unknown argument "--verbose"');
    expect(logs).toContain('keyfleet proxy: KEYFLEET_URL and KEYFLEET_TICKET must be set');
    expect(logs).toContain('keyfleet proxy: ticket redemption answered 410 ticket_used');
    expect(logs).not.toContain('not-the-ticket');
  });
});

import { describe, expect, it } from 'vitest';
import type { ProxyKind, ProxyProvider } from '#shared/proxy/routes.ts';
import { runAgentThroughProxy } from '#test/helpers/proxy-cli.ts';

/**
 * The real Claude Code, Codex and Gemini CLIs behind the credential proxy (delivery "proxy"), in
 * the loopback-only network namespace of `npm run test:cli`: the agent holds only placeholders,
 * the fake provider API sees only the real credential.
 */
const MODES: [ProxyProvider, ProxyKind][] = [
  ['claude', 'oauth'],
  ['claude', 'api_key'],
  ['codex', 'oauth'],
  ['codex', 'api_key'],
  ['gemini', 'oauth'],
  ['gemini', 'api_key'],
];

describe('real agent CLIs through keyfleet proxy', () => {
  it.each(MODES)('%s with an %s account works with placeholders only', async (provider, kind) => {
    const run = await runAgentThroughProxy(provider, kind);
    expect({ exitCode: run.exitCode, stderr: run.exitCode === 0 ? '' : run.stderr.slice(-2000) }).toEqual({
      exitCode: 0,
      stderr: '',
    });
    expect(run.leaks).toEqual([]);
    expect(run.placeholder).not.toBe('');
    const modelCalls = run.upstream.filter((r) => r.method === 'POST');
    expect(modelCalls.length).toBeGreaterThan(0);
    for (const request of run.upstream) {
      const sent = JSON.stringify(request.headers);
      expect(sent).not.toContain(run.placeholder);
    }
    expect(modelCalls.some((r) => JSON.stringify(r.headers).includes(run.credential))).toBe(true);
  });
});

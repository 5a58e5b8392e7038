import { describe, expect, it } from 'vitest';
import { DEFAULT_USAGE_ENDPOINTS } from '#shared/usage/endpoints.ts';
import { type UsageCandidate, usageDue } from '#shared/usage/sweep.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const candidate = (id: string, extra: Partial<UsageCandidate> = {}): UsageCandidate => ({
  id,
  provider: 'claude',
  kind: 'oauth',
  status: 'connected',
  secretName: `keyfleet/test/claude/${id}`,
  ...extra,
});

describe('which accounts the sweep reads usage for', () => {
  it('reads OAuth accounts with a usage endpoint whose next read time has come', () => {
    const accounts = [
      candidate('never-read'),
      candidate('due', { usageNextReadAt: '2026-03-02T10:00:00.000Z' }),
      candidate('not-yet', { usageNextReadAt: '2026-03-02T10:00:00.001Z' }),
      candidate('dead', { status: 'needs_reconnect' }),
      candidate('cooling', { status: 'cooling_down' }),
      candidate('refresh-failed', { status: 'refresh_failed' }),
      candidate('key', { kind: 'api_key' }),
      candidate('grok', { provider: 'grok' }),
      candidate('bob', { provider: 'bob' }),
    ];
    expect(usageDue(accounts, NOW, DEFAULT_USAGE_ENDPOINTS).map((a) => a.id)).toEqual([
      'never-read',
      'due',
      'cooling',
      'refresh-failed',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { nextUsageReadAt, usageReadDue } from '#shared/usage/schedule.ts';
import type { UsageResult } from '#shared/usage/types.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const ok: UsageResult = {
  ok: true,
  usage: { plan: null, readAt: '2026-03-02T10:00:00.000Z', windows: [], credits: null },
};
const limited = (retryAfterMs: number | null): UsageResult => ({
  ok: false,
  kind: 'rate_limited',
  detail: 'the usage endpoint is rate limited',
  status: 429,
  retryAfterMs,
});

describe('usage read pacing', () => {
  it('is due when never read, unreadable, or at and after the stored next read time', () => {
    expect(usageReadDue(null, NOW)).toBe(true);
    expect(usageReadDue('garbage', NOW)).toBe(true);
    expect(usageReadDue('2026-03-02T10:00:00.000Z', NOW)).toBe(true);
    expect(usageReadDue('2026-03-02T10:00:00.001Z', NOW)).toBe(false);
  });

  it('waits one interval (10 minutes by default) after a success or a failure alike', () => {
    const failed: UsageResult = { ok: false, kind: 'upstream_status', detail: 'x', status: 503, retryAfterMs: null };
    expect(nextUsageReadAt(ok, NOW, 10)).toBe('2026-03-02T10:10:00.000Z');
    expect(nextUsageReadAt(failed, NOW, 30)).toBe('2026-03-02T10:30:00.000Z');
    expect(nextUsageReadAt(ok, NOW, 2)).toBe('2026-03-02T10:10:00.000Z');
  });

  it('waits for a longer Retry-After from the usage endpoint, at most six hours', () => {
    expect(nextUsageReadAt(limited(60_000), NOW, 10)).toBe('2026-03-02T10:10:00.000Z');
    expect(nextUsageReadAt(limited(3_600_000), NOW, 10)).toBe('2026-03-02T11:00:00.000Z');
    expect(nextUsageReadAt(limited(10 * 86_400_000), NOW, 10)).toBe('2026-03-02T16:00:00.000Z');
    expect(nextUsageReadAt(limited(null), NOW, 10)).toBe('2026-03-02T10:10:00.000Z');
  });
});

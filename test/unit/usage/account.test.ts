import { describe, expect, it } from 'vitest';
import { account as accountWire } from '#shared/http/wire.ts';
import { storedUsage, usageAttributes, usageView } from '#shared/usage/account.ts';
import type { AccountUsage, UsageResult } from '#shared/usage/types.ts';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const USAGE: AccountUsage = {
  plan: 'max',
  readAt: '2026-03-02T10:00:00.000Z',
  windows: [{ name: 'five_hour', usedPercent: 61, resetsAt: '2026-03-02T12:00:00.000Z' }],
  credits: null,
};

describe('usage attributes stored on the account item', () => {
  it('replaces usage and clears the error after a good read', () => {
    expect(usageAttributes({ ok: true, usage: USAGE }, NOW, 10)).toEqual({
      usage: USAGE,
      usageNextReadAt: '2026-03-02T10:10:00.000Z',
      usageError: null,
    });
  });

  it('keeps the last reading after a failed read, recording only the fixed phrase and the next read time', () => {
    const failed: UsageResult = {
      ok: false,
      kind: 'upstream_status',
      detail: 'the usage endpoint answered HTTP 503',
      status: 503,
      retryAfterMs: null,
    };
    const attributes = usageAttributes(failed, NOW, 10);
    expect(attributes).toEqual({
      usageNextReadAt: '2026-03-02T10:10:00.000Z',
      usageError: 'the usage endpoint answered HTTP 503',
    });
    expect('usage' in attributes).toBe(false);
  });

  it('stores null usage for a provider without a usage endpoint', () => {
    const unsupported: UsageResult = { ok: false, kind: 'unsupported', detail: 'x', status: null, retryAfterMs: null };
    expect(usageAttributes(unsupported, NOW, 60)).toEqual({
      usage: null,
      usageNextReadAt: '2026-03-02T11:00:00.000Z',
      usageError: null,
    });
  });
});

describe('stored usage as the API shows it', () => {
  it('reads back what was stored', () => {
    expect(storedUsage(USAGE)).toEqual(USAGE);
  });

  it('reads an item without usage, or a damaged one, as null', () => {
    expect([storedUsage(undefined), storedUsage(null), storedUsage('x'), storedUsage({ windows: [] })]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });

  it('shows the API.md shape, which the wire schema of Account accepts', () => {
    const view = usageView({
      ...USAGE,
      credits: { enabled: true, unlimited: null, balance: null, used: 3, monthlyLimit: 9 },
    });
    expect(view).toEqual({ plan: 'max', readAt: USAGE.readAt, windows: USAGE.windows });
    expect(accountWire.shape.usage.safeParse(view).success).toBe(true);
    expect(usageView(undefined)).toBeNull();
  });

  it('drops windows that do not read and defaults missing plan and credits', () => {
    const value = {
      readAt: '2026-03-02T10:00:00.000Z',
      windows: [{ name: 'seven_day', usedPercent: 12, resetsAt: null }, { name: 'bad', usedPercent: 'x' }, 3],
    };
    expect(storedUsage(value)).toEqual({
      plan: null,
      readAt: '2026-03-02T10:00:00.000Z',
      windows: [{ name: 'seven_day', usedPercent: 12, resetsAt: null }],
      credits: null,
    });
  });
});

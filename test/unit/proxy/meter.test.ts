import { describe, expect, it } from 'vitest';
import type { KeyfleetClient, UsageReport } from '#shared/proxy/client.ts';
import { UsageMeter, UsageReporter } from '#shared/proxy/meter.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');

describe('UsageMeter', () => {
  it('reports cumulative requests, status counts, tokens and the longest limit still in force', () => {
    const meter = new UsageMeter();
    meter.status(200);
    meter.status(200);
    meter.status(429);
    meter.tokens({ input: 10, output: 3 });
    meter.tokens({ input: 5, output: 1 });
    meter.limited({ resetsAt: NOW + 60_000 });
    meter.limited({ resetsAt: NOW + 3600_000, window: 'five_hour' });
    meter.limited({ resetsAt: NOW + 120_000 });
    expect(meter.report(NOW)).toEqual({
      requests: 3,
      inputTokens: 15,
      outputTokens: 4,
      statusCounts: { '200': 2, '429': 1 },
      rateLimit: { limited: true, resetsAt: '2026-11-22T13:00:00.000Z', window: 'five_hour' },
    });
    expect(meter.report(NOW + 3600_000).rateLimit).toBeUndefined();
  });
});

describe('UsageReporter', () => {
  function recording(fail: number) {
    const sent: [string, UsageReport][] = [];
    const client: KeyfleetClient = {
      redeem: () => Promise.reject(new Error('not used')),
      token: () => Promise.reject(new Error('not used')),
      usage: async (taskToken, report) => {
        if (fail-- > 0) throw new Error('keyfleet proxy: usage report answered 502');
        sent.push([taskToken, report]);
      },
    };
    return { client, sent };
  }

  it('sends nothing until something happened, then only when the totals changed', async () => {
    const { client, sent } = recording(0);
    const meter = new UsageMeter();
    const reporter = new UsageReporter(
      meter,
      client,
      () => 'task-token',
      () => NOW,
      () => {},
    );
    await reporter.flush();
    expect(sent).toEqual([]);
    meter.status(200);
    await reporter.flush();
    await reporter.flush();
    expect(sent).toEqual([
      ['task-token', { requests: 1, inputTokens: 0, outputTokens: 0, statusCounts: { '200': 1 } }],
    ]);
  });

  it('retries a failed report with the next flush and sends the last totals at close', async () => {
    const { client, sent } = recording(1);
    const errors: string[] = [];
    const meter = new UsageMeter();
    const reporter = new UsageReporter(
      meter,
      client,
      () => 'task-token',
      () => NOW,
      (m) => errors.push(m),
    );
    meter.status(200);
    await reporter.flush();
    expect(errors).toEqual(['keyfleet proxy: usage report answered 502']);
    meter.tokens({ input: 2, output: 2 });
    await reporter.close();
    expect(sent.map(([, r]) => r)).toEqual([
      { requests: 1, inputTokens: 2, outputTokens: 2, statusCounts: { '200': 1 } },
    ]);
  });
});

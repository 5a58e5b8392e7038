import { REFRESH_LIMITS } from '#shared/config.ts';
import { sweep } from '#shared/keepalive/sweeper.ts';
import { updateProviderSettings } from '#shared/settings/store.ts';
import { seedOAuthAccount } from './hot-paths.ts';
import { atMost, type Figure, summarize } from './stats.ts';
import type { TokenEndpoint } from './token-endpoint.ts';

/** Secrets Manager's PutSecretValue quota per region, shared with every other writer. */
const SECRETS_WRITES_PER_SECOND = 50;

async function seedDue(tokens: TokenEndpoint, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        next += 1;
        // Never refreshed and expiring within Claude's hour of lead: due at once, and again after
        // each refresh (the endpoint's tokens last 30 minutes).
        await seedOAuthAccount(tokens, { lastRefreshAt: null }, 20 * 60_000);
      }
    }),
  );
}

/** Runs `op` while sampling the process's resident memory; returns its time (s) and the peak (MB). */
async function withPeakMemory(op: () => Promise<void>): Promise<{ seconds: number; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  try {
    await op();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds: (performance.now() - started) / 1000, peakMb: peak / 1024 / 1024 };
}

/**
 * `count` due Claude accounts swept against the local token endpoint, at the default pacing and
 * at the most the configuration accepts; each sweep must refresh every one of them.
 */
export async function benchSweep(
  tokens: TokenEndpoint,
  count: number,
  runs: { atDefault: number; atMaximum: number },
): Promise<Figure[]> {
  await seedDue(tokens, count);
  await updateProviderSettings('claude', { keepalive: { enabled: true } });
  const figures: Figure[] = [];
  const pacings = [
    {
      label: 'default',
      concurrency: REFRESH_LIMITS.concurrency.fallback,
      perSecond: REFRESH_LIMITS.perSecond.fallback,
      runs: runs.atDefault,
    },
    {
      label: 'maximum',
      concurrency: REFRESH_LIMITS.concurrency.max,
      perSecond: REFRESH_LIMITS.perSecond.max,
      runs: runs.atMaximum,
    },
  ];
  for (const pacing of pacings) {
    const seconds: number[] = [];
    const peaks: number[] = [];
    for (let i = 0; i < pacing.runs; i++) {
      const before = tokens.refreshes();
      const measured = await withPeakMemory(async () => {
        const summary = await sweep({ concurrency: pacing.concurrency, startsPerSecond: pacing.perSecond });
        if (summary.refreshed !== count || summary.due !== count) {
          throw new Error(`the sweep refreshed ${summary.refreshed} of ${summary.due} due, expected ${count}`);
        }
      });
      if (tokens.refreshes() - before !== count)
        throw new Error('the token endpoint saw a different number of refreshes');
      seconds.push(measured.seconds);
      peaks.push(measured.peakMb);
    }
    const bound = count / pacing.perSecond;
    const section = `refresh sweep, ${count} due, ${pacing.label} pacing (${pacing.concurrency} in flight, ${pacing.perSecond}/s)`;
    figures.push(
      atMost(
        {
          section,
          name: 'time',
          unit: 's',
          value: summarize(seconds),
          note: `pacing bound ${bound.toFixed(1)} s; floor at Secrets Manager's ${SECRETS_WRITES_PER_SECOND} writes/s: ${(count / SECRETS_WRITES_PER_SECOND).toFixed(1)} s`,
        },
        bound * 1.1,
        `≤ ${(bound * 1.1).toFixed(1)} (pacing + 10 %)`,
      ),
      atMost(
        {
          section,
          name: 'peak resident memory of the bench process',
          unit: 'MB',
          value: summarize(peaks),
          note: 'includes the embedded DynamoDB and Secrets Manager',
        },
        512,
        "≤ 512 (the function's memory)",
      ),
    );
  }
  return figures;
}

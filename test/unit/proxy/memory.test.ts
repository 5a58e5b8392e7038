import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { garbagePacer, minorCollector } from '#shared/proxy/memory.ts';

describe('garbagePacer', () => {
  it('collects once each time another `everyBytes` have been relayed, counting across chunks', () => {
    const calls: number[] = [];
    let relayed = 0;
    const pace = garbagePacer(100, () => calls.push(relayed));
    for (const size of [40, 40, 19, 1, 250, 99, 1, 0]) {
      relayed += size;
      pace(size);
    }
    expect(calls).toEqual([100, 350, 450]);
  });
});

describe('minorCollector', () => {
  it('runs a young-generation collection each time it is called', async () => {
    const kinds: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
        kinds.push(entry.detail?.kind ?? -1);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      const collect = minorCollector();
      collect();
      collect();
      await expect
        .poll(() => kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length)
        .toBeGreaterThanOrEqual(2);
    } finally {
      observer.disconnect();
    }
  });

  it('leaves the process without a global `gc`', () => {
    minorCollector();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

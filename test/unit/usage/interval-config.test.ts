import { describe, expect, it } from 'vitest';
import { loadConfig, readConfig } from '#shared/config.ts';

describe('KEYFLEET_USAGE_INTERVAL_MINUTES', () => {
  it('defaults to 10 minutes per account', () => {
    expect(loadConfig({ KEYFLEET_TABLE_NAME: 'kf' }).usageIntervalMinutes).toBe(10);
  });

  it('accepts whole minutes from one sweep (5) to a day (1440)', () => {
    for (const [raw, value] of [
      ['5', 5],
      [' 30 ', 30],
      ['1440', 1440],
    ] as const) {
      expect(loadConfig({ KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_USAGE_INTERVAL_MINUTES: raw }).usageIntervalMinutes).toBe(
        value,
      );
    }
  });

  it.each(['0', '4', '1441', '7.5', 'ten', '-10'])('refuses %j at start with a clear problem', (raw) => {
    const { config, problems } = readConfig({ KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_USAGE_INTERVAL_MINUTES: raw });
    expect(problems).toEqual([`KEYFLEET_USAGE_INTERVAL_MINUTES must be a whole number from 5 to 1440 (got "${raw}")`]);
    expect(config.usageIntervalMinutes).toBe(10);
  });
});

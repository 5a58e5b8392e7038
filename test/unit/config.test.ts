import { describe, expect, it } from 'vitest';
import { ConfigProblems, loadConfig, REFRESH_LIMITS, readConfig, wholeNumber } from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';

describe('loadConfig', () => {
  it('reads the documented variables with their defaults', () => {
    const config = loadConfig({
      KEYFLEET_TABLE_NAME: 'kf',
      KEYFLEET_ADMIN_PRINCIPALS: 'arn:aws:iam::1:role/A, arn:aws:iam::1:role/B*',
    });
    expect(config).toEqual({
      tableName: 'kf',
      stage: 'dev',
      kmsKeyId: undefined,
      apiUrl: undefined,
      providerOverrides: {},
      adminPrincipals: ['arn:aws:iam::1:role/A', 'arn:aws:iam::1:role/B*'],
      personRoles: [],
      groupsClaim: 'cognito:groups',
      adminGroup: 'keyfleet-admins',
      launchClusters: [],
      launchTaskFamilies: [],
      refreshConcurrency: 4,
      refreshPerSecond: 10,
      usageIntervalMinutes: 10,
    });
  });

  it('reads keep-alive pacing up to its documented caps', () => {
    const config = loadConfig({
      KEYFLEET_TABLE_NAME: 'kf',
      KEYFLEET_REFRESH_CONCURRENCY: '25',
      KEYFLEET_REFRESH_PER_SECOND: ' 40 ',
    });
    expect(config.refreshConcurrency).toBe(REFRESH_LIMITS.concurrency.max);
    expect(config.refreshPerSecond).toBe(REFRESH_LIMITS.perSecond.max);
    expect([config.refreshConcurrency, config.refreshPerSecond]).toEqual([25, 40]);
  });

  it('regression: refresh pacing above the caps is refused at start with every problem, not replaced by the default', () => {
    const attempt = () =>
      loadConfig({
        KEYFLEET_TABLE_NAME: 'kf',
        KEYFLEET_REFRESH_CONCURRENCY: '26',
        KEYFLEET_REFRESH_PER_SECOND: '50',
      });
    expect(attempt).toThrow(
      'Keyfleet configuration is invalid: KEYFLEET_REFRESH_CONCURRENCY must be a whole number from 1 to 25 (got "26"); KEYFLEET_REFRESH_PER_SECOND must be a whole number from 1 to 40 (got "50")',
    );
  });

  it('refuses pacing that is zero, fractional or not a number', () => {
    for (const [raw, shown] of [
      ['0', '0'],
      ['2.5', '2.5'],
      ['ten', 'ten'],
      ['-3', '-3'],
      ['1e1', '1e1'],
    ]) {
      const { config, problems } = readConfig({ KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_REFRESH_PER_SECOND: raw });
      expect(problems).toEqual([`KEYFLEET_REFRESH_PER_SECOND must be a whole number from 1 to 40 (got "${shown}")`]);
      expect(config.refreshPerSecond).toBe(10);
    }
  });

  it('reports every problem at once', () => {
    const attempt = () =>
      loadConfig({
        KEYFLEET_STAGE: 'Prod!',
        KEYFLEET_API_URL: 'http://api.example.com',
        KEYFLEET_PROVIDER_OVERRIDES: '{',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      'Keyfleet configuration is invalid: KEYFLEET_TABLE_NAME is required; KEYFLEET_STAGE must be 1-32 lowercase letters, digits or dashes; KEYFLEET_API_URL must use https:// (http:// is accepted only for loopback hosts); KEYFLEET_PROVIDER_OVERRIDES is not valid JSON',
    );
  });

  it('parses provider overrides JSON', () => {
    const config = loadConfig({ KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_PROVIDER_OVERRIDES: '{"grok":{"clientId":"x"}}' });
    expect(config.providerOverrides).toEqual({ grok: { clientId: 'x' } });
  });

  it('keeps each problem apart in the ConfigError it throws', () => {
    const attempt = () => loadConfig({ KEYFLEET_STAGE: 'Prod!' });
    expect(attempt).toThrow(ConfigProblems);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigProblems).problems).toEqual([
        'KEYFLEET_TABLE_NAME is required',
        'KEYFLEET_STAGE must be 1-32 lowercase letters, digits or dashes',
      ]);
    }
  });
});

describe('readConfig', () => {
  it('returns every problem without throwing, and the overrides as {} when their JSON is bad', () => {
    const { config, problems } = readConfig({ KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_PROVIDER_OVERRIDES: '{' });
    expect(problems).toEqual(['KEYFLEET_PROVIDER_OVERRIDES is not valid JSON']);
    expect(config.tableName).toBe('kf');
    expect(config.providerOverrides).toEqual({});
  });
});

describe('wholeNumber', () => {
  const setting = { name: 'KEYFLEET_EXAMPLE', fallback: 7, min: 0, max: 300 };
  const read = (raw: string | undefined) => {
    const problems: string[] = [];
    const value = wholeNumber({ KEYFLEET_EXAMPLE: raw }, setting, problems);
    return { value, problems };
  };

  it('answers the fallback for an unset or blank variable, and a whole number within the range as it is', () => {
    expect(read(undefined)).toEqual({ value: 7, problems: [] });
    expect(read('   ')).toEqual({ value: 7, problems: [] });
    expect(read('0')).toEqual({ value: 0, problems: [] });
    expect(read(' 300 ')).toEqual({ value: 300, problems: [] });
    expect(read('007')).toEqual({ value: 7, problems: [] });
  });

  it.each(['301', '-1', '2.5', '1e2', '0x10', 'ten', '+5', '1234567890', '5 5'])(
    'refuses %j with one problem naming the variable and the range, and answers the fallback',
    (raw) => {
      expect(read(raw)).toEqual({
        value: 7,
        problems: [`KEYFLEET_EXAMPLE must be a whole number from 0 to 300 (got "${raw.trim().slice(0, 20)}")`],
      });
    },
  );

  it('shows at most 20 characters of a bad value', () => {
    expect(read('x'.repeat(50)).problems).toEqual([
      `KEYFLEET_EXAMPLE must be a whole number from 0 to 300 (got "${'x'.repeat(20)}")`,
    ]);
  });
});

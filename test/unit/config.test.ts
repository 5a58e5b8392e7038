import { describe, expect, it } from 'vitest';
import { ConfigProblems, loadConfig, readConfig } from '#shared/config.ts';
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
    });
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

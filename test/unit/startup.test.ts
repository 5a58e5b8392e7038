import { describe, expect, it } from 'vitest';
import { startLocalMode } from '#infra/local/start.ts';
import { ConfigProblems, readConfig } from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';
import { buildProviders } from '#shared/providers/index.ts';
import { checkStartup } from '#shared/startup.ts';

const BAD_OVERRIDES = JSON.stringify({
  grok: { colour: 'blue' },
  gork: {},
  bob: { tokenEndpoint: 'http://bob.example.com/token' },
});

function problemsOf(attempt: () => void): string[] {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigProblems).problems;
  }
  throw new Error('checkStartup did not throw');
}

describe('checkStartup', () => {
  it('regression: an unknown key, an unknown provider and a non-loopback http URL fail at start in one ConfigError', () => {
    const problems = problemsOf(() =>
      checkStartup({ env: { KEYFLEET_STAGE: 'Prod!', KEYFLEET_PROVIDER_OVERRIDES: BAD_OVERRIDES } }),
    );
    expect(problems).toHaveLength(3);
    expect(problems.slice(0, 2)).toEqual([
      'KEYFLEET_TABLE_NAME is required',
      'KEYFLEET_STAGE must be 1-32 lowercase letters, digits or dashes',
    ]);
    expect(problems[2]).toMatch(/^KEYFLEET_PROVIDER_OVERRIDES is invalid: /);
    for (const part of ['bob.tokenEndpoint', 'https://', '"colour"', '"gork"']) expect(problems[2]).toContain(part);
  });

  it('passes a valid configuration whose overrides take effect, a loopback http token endpoint included', () => {
    const env = {
      KEYFLEET_TABLE_NAME: 'kf',
      KEYFLEET_PROVIDER_OVERRIDES: '{"grok":{"clientId":"x","tokenEndpoint":"http://127.0.0.1:9/token"}}',
    };
    expect(checkStartup({ env })).toBeUndefined();
    const { config, problems } = readConfig(env);
    expect(problems).toEqual([]);
    expect(buildProviders(config.providerOverrides).get('grok')?.oauth).toMatchObject({
      clientId: 'x',
      tokenEndpoint: 'http://127.0.0.1:9/token',
    });
  });

  it('reports invalid JSON once, without a second problem from the providers', () => {
    expect(
      problemsOf(() => checkStartup({ env: { KEYFLEET_TABLE_NAME: 'kf', KEYFLEET_PROVIDER_OVERRIDES: '{' } })),
    ).toEqual(['KEYFLEET_PROVIDER_OVERRIDES is not valid JSON']);
  });

  it('checks at module init only inside a Lambda runtime', () => {
    const env = { KEYFLEET_PROVIDER_OVERRIDES: BAD_OVERRIDES };
    expect(() => checkStartup({ env, lambdaInit: true })).not.toThrow();
    expect(() =>
      checkStartup({ env: { ...env, AWS_LAMBDA_FUNCTION_NAME: 'keyfleet-accounts' }, lambdaInit: true }),
    ).toThrow(ConfigProblems);
  });
});

describe('refresh pacing above the caps', () => {
  it("refuses KEYFLEET_REFRESH_PER_SECOND=50 at a function's start instead of sweeping at the default 10 a second", () => {
    expect(
      problemsOf(() =>
        checkStartup({
          env: {
            KEYFLEET_TABLE_NAME: 'kf',
            KEYFLEET_REFRESH_PER_SECOND: '50',
            AWS_LAMBDA_FUNCTION_NAME: 'keyfleet-refresh',
          },
          lambdaInit: true,
        }),
      ),
    ).toEqual(['KEYFLEET_REFRESH_PER_SECOND must be a whole number from 1 to 40 (got "50")']);
  });

  it("stops local mode before anything starts, with local mode's own numbers in the same words", async () => {
    const env: NodeJS.ProcessEnv = {
      KEYFLEET_REFRESH_PER_SECOND: '50',
      KEYFLEET_REFRESH_CONCURRENCY: '26',
      KEYFLEET_SWEEP_SECONDS: '86401',
      KEYFLEET_STOP_GRACE_SECONDS: '-1',
      KEYFLEET_PORT: '65536',
    };
    const attempt = startLocalMode({ env, ephemeral: true });
    await expect(attempt).rejects.toBeInstanceOf(ConfigProblems);
    expect(await attempt.catch((error: ConfigProblems) => error.problems)).toEqual([
      'KEYFLEET_REFRESH_CONCURRENCY must be a whole number from 1 to 25 (got "26")',
      'KEYFLEET_REFRESH_PER_SECOND must be a whole number from 1 to 40 (got "50")',
      'KEYFLEET_PORT must be a whole number from 0 to 65535 (got "65536")',
      'KEYFLEET_SWEEP_SECONDS must be a whole number from 0 to 86400 (got "86401")',
      'KEYFLEET_STOP_GRACE_SECONDS must be a whole number from 0 to 3600 (got "-1")',
    ]);
    // Nothing was started: no endpoint was set up in the environment it was given.
    expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBeUndefined();
    expect(env.KEYFLEET_API_URL).toBeUndefined();
  });
});

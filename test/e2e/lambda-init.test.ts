import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The console function serves static files and reads none of Keyfleet's configuration (no table).
const WITHOUT_CONFIG = new Set(['console.ts']);
const FUNCTIONS = readdirSync('functions')
  .filter((f) => f.endsWith('.ts') && !WITHOUT_CONFIG.has(f))
  .sort();

/** Imports every `functions/*.ts` in a fresh Node process with `env`, as a Lambda runtime does at init. */
function initEach(env: Record<string, string>): Record<string, string> {
  const script = `
const outcome = {};
for (const file of ${JSON.stringify(FUNCTIONS)}) {
  try {
    const mod = await import('./functions/' + file);
    outcome[file] = typeof mod.handler;
  } catch (error) {
    outcome[file] = error.name + ': ' + error.message;
  }
}
process.stdout.write(JSON.stringify(outcome));
`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'keyfleet-test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, string>;
}

describe('Lambda init', () => {
  it('regression: every function fails at init with the list of problems when provider overrides are bad', () => {
    const outcome = initEach({
      KEYFLEET_TABLE_NAME: 'keyfleet-test',
      KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify({
        grok: { colour: 'blue' },
        gork: {},
        bob: { tokenEndpoint: 'http://bob.example.com/token' },
      }),
    });
    expect(Object.keys(outcome)).toEqual(FUNCTIONS);
    expect(FUNCTIONS).toEqual(
      expect.arrayContaining(['accounts.ts', 'helpers.ts', 'launch.ts', 'refresh.ts', 'task-stopped.ts', 'tasks.ts']),
    );
    for (const message of Object.values(outcome)) {
      expect(message).toMatch(
        /^ConfigError: Keyfleet configuration is invalid: KEYFLEET_PROVIDER_OVERRIDES is invalid: /,
      );
      for (const part of ['bob.tokenEndpoint', '"colour"', '"gork"']) expect(message).toContain(part);
    }
  });

  it('initialises every function when the configuration is good', () => {
    const outcome = initEach({ KEYFLEET_TABLE_NAME: 'keyfleet-test', KEYFLEET_API_URL: 'https://api.example.com' });
    expect(Object.values(outcome)).toEqual(FUNCTIONS.map(() => 'function'));
  });
});

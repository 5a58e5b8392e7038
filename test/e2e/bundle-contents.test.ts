import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionBuildOptions } from '#infra/constructs/keyfleet-function.ts';

const work = mkdtempSync(join(tmpdir(), 'kf-bundle-contents-'));
const FUNCTIONS = readdirSync('functions')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
/** Every input of every function bundle, by function, as the deploy builds them. */
const inputs = new Map<string, string[]>();

beforeAll(async () => {
  for (const name of FUNCTIONS) {
    const outfile = join(work, name, 'index.mjs');
    const result = await build({ ...functionBuildOptions(join('functions', `${name}.ts`), outfile), write: false });
    const output = Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint);
    inputs.set(name, Object.keys(output?.inputs ?? {}));
  }
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The functions whose bundle has an input matching `pattern`. */
function carrying(pattern: RegExp): string[] {
  return FUNCTIONS.filter((name) => inputs.get(name)?.some((input) => pattern.test(input)));
}

describe('what the function bundles carry', () => {
  it('bundles every function', () => {
    expect(FUNCTIONS).toEqual(
      expect.arrayContaining(['accounts', 'helpers', 'launch', 'refresh', 'task-stopped', 'tasks']),
    );
    for (const name of FUNCTIONS) expect(inputs.get(name)?.length, name).toBeGreaterThan(0);
  });

  it('regression: no bundle carries classic zod (zod/mini only; classic is not tree-shakable)', () => {
    expect(carrying(/node_modules\/zod\/v4\/classic\//)).toEqual([]);
  });

  it('regression: no bundle carries the API reference (served from a file beside the helpers bundle)', () => {
    expect(carrying(/docs\/openapi\.json$/)).toEqual([]);
  });

  it('regression: openid-client comes without jose (only the parts sign-in and refresh call, not its whole namespace)', () => {
    expect(carrying(/node_modules\/openid-client\//).length).toBeGreaterThan(0);
    expect(carrying(/node_modules\/jose\//)).toEqual([]);
  });

  it('keeps the AWS SDK inside the bundles that call AWS', () => {
    expect(carrying(/node_modules\/@aws-sdk\/client-dynamodb\//)).toEqual(
      FUNCTIONS.filter((name) => name !== 'console'),
    );
  });
});

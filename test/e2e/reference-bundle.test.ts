import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyfleetFunction } from '#infra/constructs/keyfleet-function.ts';
import { REFERENCE_FILES } from '#shared/http/reference.ts';

const outdir = mkdtempSync(join(tmpdir(), 'kf-reference-'));
let asset = '';

// One function, bundled by CDK exactly as the stack bundles the helpers function.
beforeAll(() => {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Reference');
  new KeyfleetFunction(stack, 'Helpers', {
    name: 'helpers',
    description: 'helpers',
    environment: {},
    logRetentionDays: 1,
    removalPolicy: RemovalPolicy.DESTROY,
    files: REFERENCE_FILES,
  });
  app.synth();
  const dir = readdirSync(outdir).find((d) => d.startsWith('asset.'));
  if (!dir) throw new Error('no asset was bundled');
  asset = join(outdir, dir);
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Imports the bundle in a fresh Node process, as Lambda does, and answers one request. */
function serve(method: string, path: string): { statusCode: number; headers: Record<string, string>; body: string } {
  const event = { version: '2.0', routeKey: `${method} ${path}`, rawPath: path, rawQueryString: '', headers: {} };
  const script = `
const { handler } = await import(${JSON.stringify(join(asset, 'index.mjs'))});
const event = { ...${JSON.stringify(event)}, isBase64Encoded: false, requestContext: { http: { method: ${JSON.stringify(method)}, path: ${JSON.stringify(path)} } } };
process.stdout.write(JSON.stringify(await handler(event, {})));
`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'keyfleet-test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      KEYFLEET_TABLE_NAME: 'keyfleet-test',
      KEYFLEET_STAGE: 'test',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { statusCode: number; headers: Record<string, string>; body: string };
}

describe('the helpers bundle and the API reference', () => {
  it('regression: the bundle does not carry docs/openapi.json (80 KB parsed at every cold start)', () => {
    const code = readFileSync(join(asset, 'index.mjs'), 'utf8');
    // Booleans, not toContain: a failure would print the whole bundle.
    expect(code.includes('"openapi":"3.1.0"')).toBe(false);
    expect(code.includes('Credential broker for AI coding agents. Errors are')).toBe(false);
    expect(readdirSync(asset).sort()).toEqual(['index.mjs', 'index.mjs.map', 'openapi.json']);
  });

  it('serves GET /v1/openapi.json from the copy beside the bundle, as before', () => {
    const committed = readFileSync('docs/openapi.json', 'utf8');
    expect(readFileSync(join(asset, 'openapi.json'), 'utf8')).toBe(committed);
    const answer = serve('GET', '/v1/openapi.json');
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(answer.body)).toEqual(JSON.parse(committed));
  });
});

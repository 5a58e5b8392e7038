import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEvent } from '#test/helpers/events.ts';
import { type LocalAws, startLocalAws } from '#test/helpers/local-aws.ts';
import { type Synthesized, synth } from '#test/helpers/synth.ts';

let aws: LocalAws;
let synthesized: Synthesized | undefined;
// Bundling all six functions takes ~25 s alone and longer on a busy machine.
const BUNDLE_TIMEOUT_MS = 180_000;
beforeAll(async () => {
  aws = await startLocalAws();
  synthesized = synth();
}, BUNDLE_TIMEOUT_MS);
afterAll(async () => {
  synthesized?.cleanup();
  await aws.stop();
});

type Fn = { Type: string; Properties: { Description?: string; Code: { S3Key: string } } };

describe('the deployed bundle', () => {
  it('serves the API from the esbuild output, configured only by environment variables', async () => {
    if (!synthesized) throw new Error('synth did not run');
    const { json, outdir } = synthesized;
    const accounts = Object.values(json.Resources as Record<string, Fn>).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.includes('sign-in'),
    );
    const asset = join(outdir, `asset.${accounts?.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    const { handler } = (await import(pathToFileURL(asset).href)) as {
      handler: (
        event: unknown,
        context: unknown,
      ) => Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;
    };
    const result = await handler(
      httpEvent('GET', '/v1/providers', { iam: { userArn: 'arn:aws:sts::111122223333:assumed-role/Dev/someone' } }),
      {},
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers['cache-control']).toBe('no-store');
    expect((JSON.parse(result.body) as { providers: unknown[] }).providers).toHaveLength(5);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAgentProfile, startProxyProcess } from '#shared/proxy/agent.ts';
import { startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { ticketProfile } from '#test/helpers/proxy-profiles.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The proxy as the sidecar runs it: one bundle, its own process (no tsx in its memory). */
async function bundledProxy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-memory-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const outfile = join(dir, 'keyfleet-proxy.mjs');
  await build({
    entryPoints: ['shared/proxy/main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** An upstream that answers every request with `pieces` copies of `piece`, honouring backpressure. */
async function bulkUpstream(piece: Buffer, pieces: number): Promise<string> {
  const server = createServer(async (req, res) => {
    for await (const _chunk of req) {
      // The request body is not needed.
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': piece.length * pieces });
    for (let i = 0; i < pieces; i++) if (!res.write(piece)) await once(res, 'drain');
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Resident memory of a process now and at its peak (MB), from /proc. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { rss: mb('VmRSS'), peak: mb('VmHWM') };
}

/** POSTs through the proxy and hashes the answer as it streams in. */
function hashedAnswer(url: string, apiKey: string): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/messages`,
      { method: 'POST', headers: { 'x-api-key': apiKey, 'content-type': 'application/json' } },
      (res: IncomingMessage) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      },
    );
    req.on('error', reject);
    req.end('{"model":"m","stream":true}');
  });
}

describe.skipIf(process.platform !== 'linux')('keyfleet proxy memory', () => {
  it('regression: relaying a 64 MB answer raises the proxy process’s peak resident memory by less than 24 MB', async () => {
    const piece = randomBytes(64 * 1024);
    const pieces = 1024;
    const upstream = await bulkUpstream(piece, pieces);
    const ticket = `kftk_${randomBytes(12).toString('hex')}`;
    const keyfleet = await startFakeKeyfleet(
      ticket,
      ticketProfile('claude', 'api_key', {
        upstream,
        credential: `sk-ant-api03-real-${randomBytes(12).toString('hex')}`,
        taskToken: `kft_${randomBytes(12).toString('hex')}`,
      }),
    );
    cleanups.push(keyfleet.close);
    const proxy = await startProxyProcess([process.execPath, await bundledProxy(), '--port', '0'], {
      PATH: process.env.PATH ?? '',
      KEYFLEET_URL: keyfleet.url,
      KEYFLEET_TICKET: ticket,
    });
    cleanups.push(async () => void (await proxy.stop()));
    const profile = await fetchAgentProfile(proxy.url);
    const pid = proxy.child.pid as number;
    const idle = await memoryOf(pid);

    const answer = await hashedAnswer(proxy.url, profile.env.ANTHROPIC_API_KEY ?? '');

    const expected = createHash('sha256');
    for (let i = 0; i < pieces; i++) expected.update(piece);
    expect(answer).toEqual({ status: 200, bytes: piece.length * pieces, sha256: expected.digest('hex') });
    // Before the fix dead chunk buffers piled up until V8 noticed them: about 40 MB more.
    const after = await memoryOf(pid);
    expect(after.peak - idle.rss).toBeLessThan(24);
  });
});

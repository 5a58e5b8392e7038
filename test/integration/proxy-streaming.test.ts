import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CliProfile } from '#shared/profiles/types.ts';
import type { ProxyKind, ProxyProvider } from '#shared/proxy/routes.ts';
import { type RunningProxy, startProxy } from '#shared/proxy/server.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { type FakeKeyfleet, startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { fakeJwt, realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';

/** Every credential, placeholder and task token a test used: none may appear in captured output. */
const secrets: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(() => {
  const logs = capturedLogs();
  for (const secret of secrets) expect(logs).not.toContain(secret);
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** An upstream whose handler sees the request as it streams in (nothing is read for it first). */
async function liveUpstream(handler: Handler): Promise<string> {
  const server = createServer((req, res) => void handler(req, res));
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

interface Proxied {
  proxy: RunningProxy;
  keyfleet: FakeKeyfleet;
  placeholder: string;
  credential: string;
}

/** A proxy for a Codex account (ChatGPT OAuth, or an API key) whose upstream is `base`. */
async function proxyFor(kind: ProxyKind, base: string): Promise<Proxied> {
  const provider: ProxyProvider = 'codex';
  const taskToken = `kft_${randomBytes(16).toString('hex')}`;
  const ticket = `kftk_${randomBytes(16).toString('hex')}`;
  const credential = realCredential(provider, kind, Date.now() + 3600_000);
  const keyfleet = await startFakeKeyfleet(
    ticket,
    ticketProfile(provider, kind, { upstream: base, credential, taskToken, accountId: 'acct_1' }),
  );
  cleanups.push(keyfleet.close);
  const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0, reportIntervalMs: 3600_000 });
  cleanups.push(proxy.close);
  const agent = (await (await fetch(`${proxy.url}/_keyfleet/profile`)).json()) as CliProfile;
  const placeholder =
    kind === 'oauth'
      ? (
          JSON.parse(agent.files.find((f) => f.path === '.codex/auth.json')?.content ?? '{}') as {
            tokens: { access_token: string };
          }
        ).tokens.access_token
      : (agent.env.KEYFLEET_CODEX_API_KEY as string);
  secrets.push(credential, taskToken, ticket, placeholder);
  return { proxy, keyfleet, placeholder, credential };
}

const MODEL_PATH = { oauth: '/backend-api/codex/responses', api_key: '/v1/responses' } as const;

/** Starts a POST through the proxy (chunked unless `length` is given); the caller writes and ends the body. */
function post(p: Proxied, kind: ProxyKind, length?: number) {
  const req = request({
    host: '127.0.0.1',
    port: p.proxy.port,
    method: 'POST',
    path: MODEL_PATH[kind],
    headers: {
      authorization: `Bearer ${p.placeholder}`,
      ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
    },
  });
  const response = once(req, 'response').then(([res]) => res as IncomingMessage);
  return { req, response };
}

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves `value` unless `ms` pass first (then rejects with `what`): a hang fails, fast. */
function within<T>(value: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    value,
    new Promise<T>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)),
  ]);
}

describe('streaming without buffering', () => {
  it('regression: an OAuth account’s request body reaches the upstream while the agent is still sending it', async () => {
    let firstBytes: (chunk: string) => void = () => {};
    const seen = new Promise<string>((resolve) => {
      firstBytes = resolve;
    });
    const bodies: string[] = [];
    const base = await liveUpstream(async (req, res) => {
      req.once('data', (chunk: Buffer) => firstBytes(chunk.toString('utf8')));
      bodies.push(await text(req));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const p = await proxyFor('oauth', base);
    // A CLI's JSON body with its length, under the size kept for a replay.
    const call = post(p, 'oauth', '{"input":"part one","more":"part two"}'.length);
    call.req.write('{"input":"part one",');
    // Before the fix the proxy read such a body whole (to send it again after a 401) before sending.
    expect(await within(seen, 2000, 'the upstream saw no byte')).toBe('{"input":"part one",');
    call.req.end('"more":"part two"}');
    const res = await call.response;
    expect(res.statusCode).toBe(200);
    expect(await text(res)).toBe('{}');
    expect(bodies).toEqual(['{"input":"part one","more":"part two"}']);
  });

  it('answers a 401 that comes while the agent is still sending by sending the whole body again with a renewed token', async () => {
    const renewed = fakeJwt({ exp: 9_999_999_999, sub: 'renewed-mid-body' });
    secrets.push(renewed);
    let refused: () => void = () => {};
    const refusedOnce = new Promise<void>((resolve) => {
      refused = resolve;
    });
    const seen: { authorization: string | undefined; body: string }[] = [];
    const base = await liveUpstream(async (req, res) => {
      if (req.headers.authorization !== `Bearer ${renewed}`) {
        // Refused on its headers, as providers do, without reading the body.
        seen.push({ authorization: req.headers.authorization, body: '' });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"token_expired"}}', refused);
        return;
      }
      seen.push({ authorization: req.headers.authorization, body: await text(req) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const p = await proxyFor('oauth', base);
    p.keyfleet.tokenAnswers.push({ access_token: renewed, expires_in: 3600 });
    const call = post(p, 'oauth', '{"input":"first half","rest":"second half"}'.length);
    call.req.write('{"input":"first half",');
    await within(refusedOnce, 2000, 'the upstream was not asked');
    call.req.end('"rest":"second half"}');
    const res = await call.response;
    expect(res.statusCode).toBe(200);
    expect(await text(res)).toBe('{"ok":true}');
    expect(seen).toEqual([
      { authorization: `Bearer ${p.credential}`, body: '' },
      { authorization: `Bearer ${renewed}`, body: '{"input":"first half","rest":"second half"}' },
    ]);
    expect(p.keyfleet.tokenCalls.map((c) => c.query)).toEqual([{ provider: 'codex', recover: 'true' }]);
  });

  it('relays a 64 MB answer byte-exact without holding it: the upstream waits while the agent reads nothing', async () => {
    const piece = randomBytes(64 * 1024);
    const total = 1024 * piece.length;
    let written = 0;
    const base = await liveUpstream(async (req, res) => {
      await text(req);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      while (written < total) {
        written += piece.length;
        if (!res.write(piece)) await once(res, 'drain');
      }
      res.end();
    });
    const p = await proxyFor('api_key', base);
    const call = post(p, 'api_key');
    call.req.end('{"input":"a long answer"}');
    const res = await call.response;
    res.pause();
    // The agent reads nothing: once the upstream stops getting rid of its bytes, count what left it.
    let before = -1;
    while (before !== written) {
      before = written;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Socket buffers on two loopback legs (8 MB here) and the streams' high-water marks, not the answer.
    expect(written).toBeLessThan(total / 2);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of res) {
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    const expected = createHash('sha256');
    for (let i = 0; i < 1024; i++) expected.update(piece);
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
  });

  it('sends an 8 MB request body of an OAuth account byte-exact, past the size it keeps for a replay', async () => {
    const body = randomBytes(6 * 1024 * 1024).toString('base64');
    const hashes: string[] = [];
    const base = await liveUpstream(async (req, res) => {
      const hash = createHash('sha256');
      for await (const chunk of req) hash.update(chunk as Buffer);
      hashes.push(hash.digest('hex'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const p = await proxyFor('oauth', base);
    const call = post(p, 'oauth');
    call.req.end(body);
    const res = await call.response;
    expect(res.statusCode).toBe(200);
    await text(res);
    expect(hashes).toEqual([createHash('sha256').update(body).digest('hex')]);
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allowInsecureRequests, Configuration, refreshTokenGrant } from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerAnswer } from '#shared/oauth/client.ts';

/** Token endpoint answers by path, as real providers send them when a refresh fails. */
const answers: Record<string, { status: number; headers: Record<string, string>; body: string }> = {
  '/rate-limited': {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': '7' },
    body: JSON.stringify({ error: 'rate_limited' }),
  },
  '/dead': { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_grant"}' },
  '/openai-reused': {
    status: 401,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code: 'refresh_token_reused', message: 'reused' } }),
  },
  '/echoing': {
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: 'invalid_request: refresh_token=rt-answer-test-000 was not accepted' }),
  },
  '/html-outage': { status: 503, headers: { 'content-type': 'text/html', 'retry-after': '2' }, body: '<h1>down</h1>' },
  '/challenge': {
    status: 401,
    headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' },
    body: '{}',
  },
};
const server = createServer((req, res) => {
  const answer = answers[req.url ?? ''] ?? { status: 404, headers: {}, body: '' };
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function refreshError(tokenEndpoint: string): Promise<unknown> {
  const configuration = new Configuration({ issuer: base, token_endpoint: tokenEndpoint }, 'client-1');
  allowInsecureRequests(configuration);
  try {
    await refreshTokenGrant(configuration, 'rt-answer-test-000');
  } catch (error) {
    return error;
  }
  throw new Error('expected the refresh to fail');
}

describe('providerAnswer', () => {
  it.each([
    ['/rate-limited', { status: 429, retryAfterSeconds: 7, errorCode: 'rate_limited' }],
    ['/dead', { status: 400, retryAfterSeconds: undefined, errorCode: 'invalid_grant' }],
    ['/openai-reused', { status: 401, retryAfterSeconds: undefined, errorCode: 'refresh_token_reused' }],
    ['/echoing', { status: 400, retryAfterSeconds: undefined, errorCode: 'invalid_request' }],
    ['/html-outage', { status: 503, retryAfterSeconds: 2, errorCode: undefined }],
    ['/challenge', { status: 401, retryAfterSeconds: undefined, errorCode: undefined }],
  ])('reads %s from the response openid-client attached to its error', async (path, expected) => {
    expect(await providerAnswer(await refreshError(`${base}${path}`))).toEqual(expected);
  });

  it('has nothing to read when no answer came', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await providerAnswer(await refreshError(`http://127.0.0.1:${port}/token`))).toEqual({
      status: undefined,
      retryAfterSeconds: undefined,
      errorCode: undefined,
    });
  });
});

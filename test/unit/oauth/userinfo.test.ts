import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Configuration, type ServerMetadata } from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userinfoEmail } from '#shared/oauth/client.ts';
import { buildProviders, type ProviderDefinition } from '#shared/providers/index.ts';

const ACCESS_TOKEN = 'ya29.userinfo-test-access-token';
let base: string;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
const answers: Record<string, { status: number; body: string }> = {
  '/google': {
    status: 200,
    body: JSON.stringify({
      id: '1234567890',
      email: 'gina@example.test',
      verified_email: true,
      name: 'Gina',
      picture: 'https://lh3.googleusercontent.com/a/1',
    }),
  },
  '/no-email': { status: 200, body: JSON.stringify({ id: '1', name: 'No Mail' }) },
  '/refused': { status: 401, body: JSON.stringify({ error: { code: 401, status: 'UNAUTHENTICATED' } }) },
  '/html': { status: 200, body: '<html>sign in</html>' },
};
const server = createServer((req, res) => {
  seen.push({ path: req.url ?? '', headers: req.headers });
  const answer = answers[req.url ?? ''] ?? { status: 404, body: '{}' };
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(answer.body);
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function gemini(userinfoEndpoint: string): ProviderDefinition {
  const found = buildProviders({ gemini: { userinfoEndpoint } }).get('gemini');
  if (!found) throw new Error('no gemini');
  return found;
}
const configuration = (metadata: Partial<ServerMetadata> = {}) =>
  new Configuration({ issuer: 'https://accounts.google.com', ...metadata }, 'gemini-client');

describe('userinfoEmail', () => {
  it('reads the email from Google’s v2 answer, which has no sub, with a plain bearer GET', async () => {
    const before = seen.length;
    expect(
      await userinfoEmail({
        provider: gemini(`${base}/google`),
        configuration: configuration(),
        accessToken: ACCESS_TOKEN,
      }),
    ).toBe('gina@example.test');
    expect(seen.slice(before)).toEqual([
      {
        path: '/google',
        headers: expect.objectContaining({ authorization: `Bearer ${ACCESS_TOKEN}`, accept: 'application/json' }),
      },
    ]);
  });

  it.each([
    ['an answer without an email', '/no-email'],
    ['a refused token', '/refused'],
    ['an answer that is not JSON', '/html'],
  ])('answers undefined for %s', async (_case, path) => {
    expect(
      await userinfoEmail({
        provider: gemini(`${base}${path}`),
        configuration: configuration(),
        accessToken: ACCESS_TOKEN,
      }),
    ).toBeUndefined();
  });

  it('never sends the bearer over plain http to an endpoint learned from an https provider', async () => {
    const provider = buildProviders({}).get('grok');
    if (!provider) throw new Error('no grok');
    const before = seen.length;
    const discovered = configuration({ userinfo_endpoint: `${base}/google` });
    expect(
      await userinfoEmail({ provider: provider, configuration: discovered, accessToken: ACCESS_TOKEN }),
    ).toBeUndefined();
    expect(seen.length).toBe(before);
  });

  it('answers undefined when the provider has no user-info endpoint', async () => {
    const provider = buildProviders({}).get('claude');
    if (!provider) throw new Error('no claude');
    expect(
      await userinfoEmail({ provider: provider, configuration: configuration(), accessToken: ACCESS_TOKEN }),
    ).toBeUndefined();
  });
});

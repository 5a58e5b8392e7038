import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { CliProfile } from '#shared/profiles/types.ts';
import type { ProxyKind, ProxyProvider } from '#shared/proxy/routes.ts';
import { type RunningProxy, startProxy } from '#shared/proxy/server.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import { type FakeKeyfleet, startFakeKeyfleet } from '#test/helpers/proxy-keyfleet.ts';
import { fakeJwt, realCredential, ticketProfile } from '#test/helpers/proxy-profiles.ts';
import { type RecordingUpstream, type Responder, sse, startRecordingUpstream } from '#test/helpers/proxy-upstream.ts';

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

const ANTHROPIC_STREAM = sse([
  [
    'message_start',
    {
      type: 'message_start',
      message: { id: 'msg_1', usage: { input_tokens: 11, cache_read_input_tokens: 4, output_tokens: 1 } },
    },
  ],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }],
  ['message_stop', { type: 'message_stop' }],
]);
const RESPONSES_STREAM = sse([
  ['response.created', { type: 'response.created', response: { id: 'resp_1' } }],
  [
    'response.completed',
    { type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 21, output_tokens: 8 } } },
  ],
]);
const GEMINI_STREAM = sse([
  [null, { response: { candidates: [], usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 2 } } }],
  [
    null,
    {
      response: {
        candidates: [],
        usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 9, thoughtsTokenCount: 3 },
      },
    },
  ],
]);
const GEMINI_API_STREAM = GEMINI_STREAM.replaceAll('{"response":', '').replaceAll('}}\n', '}\n');

/** Answers like the providers' model APIs: an SSE stream per path. */
const providerStreams: Responder = (request, res) => {
  const body = request.url.startsWith('/v1/messages')
    ? ANTHROPIC_STREAM
    : request.url.endsWith('/responses')
      ? RESPONSES_STREAM
      : request.url.startsWith('/v1internal:')
        ? GEMINI_STREAM
        : GEMINI_API_STREAM;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(body);
};

interface Setup {
  upstream: RecordingUpstream;
  keyfleet: FakeKeyfleet;
  proxy: RunningProxy;
  agent: CliProfile;
  placeholder: string;
  credential: string;
  taskToken: string;
  clock: { now: number };
}

interface SetupOptions {
  responder?: Responder;
  tokens?: { access_token: string; expires_in: number }[];
  expiresAt?: number;
  launchExpiresAt?: number;
  replayLimitBytes?: number;
  reportIntervalMs?: number;
}

function placeholderOf(provider: ProxyProvider, kind: ProxyKind, agent: CliProfile): string {
  if (provider === 'codex' && kind === 'oauth') {
    const auth = agent.files.find((f) => f.path === '.codex/auth.json');
    return (JSON.parse(auth?.content ?? '{}') as { tokens: { access_token: string } }).tokens.access_token;
  }
  const variables: Record<string, string> = {
    'claude:oauth': 'CLAUDE_CODE_OAUTH_TOKEN',
    'claude:api_key': 'ANTHROPIC_API_KEY',
    'codex:api_key': 'KEYFLEET_CODEX_API_KEY',
    'gemini:oauth': 'GOOGLE_CLOUD_ACCESS_TOKEN',
    'gemini:api_key': 'GEMINI_API_KEY',
  };
  return agent.env[variables[`${provider}:${kind}`] ?? ''] as string;
}

async function setUp(provider: ProxyProvider, kind: ProxyKind, options: SetupOptions = {}): Promise<Setup> {
  const clock = { now: Date.now() };
  const upstream = await startRecordingUpstream(options.responder ?? providerStreams);
  cleanups.push(upstream.close);
  const expiresAt = options.expiresAt ?? clock.now + 3600_000;
  const credential = realCredential(provider, kind, expiresAt);
  const taskToken = `kft_${randomBytes(16).toString('hex')}`;
  const ticket = `kftk_${randomBytes(16).toString('hex')}`;
  const profile = ticketProfile(provider, kind, {
    upstream: upstream.base,
    credential,
    taskToken,
    expiresAt,
    accountId: 'acct_real_1',
    ...(options.launchExpiresAt !== undefined ? { launchExpiresAt: options.launchExpiresAt } : {}),
  });
  const keyfleet = await startFakeKeyfleet(ticket, profile);
  cleanups.push(keyfleet.close);
  // Claude and Gemini tokens carry no expiry: the proxy asks once at start.
  keyfleet.tokenAnswers.push(...(options.tokens ?? [{ access_token: credential, expires_in: 3600 }]));
  const proxy = await startProxy({
    apiUrl: keyfleet.url,
    ticket,
    port: 0,
    now: () => clock.now,
    reportIntervalMs: options.reportIntervalMs ?? 3600_000,
    ...(options.replayLimitBytes !== undefined ? { replayLimitBytes: options.replayLimitBytes } : {}),
  });
  cleanups.push(proxy.close);
  const agent = (await (await fetch(`${proxy.url}/_keyfleet/profile`)).json()) as CliProfile;
  const placeholder = placeholderOf(provider, kind, agent);
  secrets.push(credential, taskToken, ticket, placeholder);
  return { upstream, keyfleet, proxy, agent, placeholder, credential, taskToken, clock };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP/1.1 request to the proxy, so tests control the request target and Host header. */
function raw(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The model call each CLI makes, as CLI-FIDELITY.md measured it, with the agent's placeholder. */
function cliCall(provider: ProxyProvider, kind: ProxyKind, agent: CliProfile, placeholder: string) {
  const body = JSON.stringify({ model: 'm', stream: true, input: 'say hi' });
  const json = { 'content-type': 'application/json' };
  if (provider === 'claude') {
    return {
      url: `${agent.env.ANTHROPIC_BASE_URL}/v1/messages?beta=true`,
      headers: {
        ...json,
        ...(kind === 'oauth' ? { authorization: `Bearer ${placeholder}` } : { 'x-api-key': placeholder }),
        'anthropic-beta': 'claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14',
        'anthropic-version': '2023-06-01',
      },
      body,
    };
  }
  if (provider === 'codex') {
    const config = agent.files.find((f) => f.path === '.codex/config.toml')?.content ?? '';
    const base = /base_url = "([^"]+)"/.exec(config.slice(config.indexOf('[model_providers')))?.[1];
    return {
      url: `${base}/responses`,
      headers: {
        ...json,
        accept: 'text/event-stream',
        authorization: `Bearer ${placeholder}`,
        ...(kind === 'oauth' ? { 'chatgpt-account-id': 'keyfleet-proxy' } : {}),
      },
      body,
    };
  }
  return kind === 'oauth'
    ? {
        url: `${agent.env.CODE_ASSIST_ENDPOINT}/v1internal:streamGenerateContent?alt=sse`,
        headers: { ...json, authorization: `Bearer ${placeholder}` },
        body,
      }
    : {
        url: `${agent.env.GOOGLE_GEMINI_BASE_URL}/v1beta/models/gemini-3.1-pro-preview:streamGenerateContent?alt=sse`,
        headers: { ...json, 'x-goog-api-key': placeholder },
        body,
      };
}

const CASES: {
  provider: ProxyProvider;
  kind: ProxyKind;
  path: string;
  expect: (credential: string) => Record<string, string | undefined>;
  usage: [number, number];
}[] = [
  {
    provider: 'claude',
    kind: 'oauth',
    path: '/v1/messages?beta=true',
    expect: (c) => ({ authorization: `Bearer ${c}`, 'x-api-key': undefined }),
    usage: [15, 7],
  },
  {
    provider: 'claude',
    kind: 'api_key',
    path: '/v1/messages?beta=true',
    expect: (c) => ({ 'x-api-key': c, authorization: undefined }),
    usage: [15, 7],
  },
  {
    provider: 'codex',
    kind: 'oauth',
    path: '/backend-api/codex/responses',
    expect: (c) => ({ authorization: `Bearer ${c}`, 'chatgpt-account-id': 'acct_real_1' }),
    usage: [21, 8],
  },
  {
    provider: 'codex',
    kind: 'api_key',
    path: '/v1/responses',
    expect: (c) => ({ authorization: `Bearer ${c}`, 'chatgpt-account-id': undefined }),
    usage: [21, 8],
  },
  {
    provider: 'gemini',
    kind: 'oauth',
    path: '/v1internal:streamGenerateContent?alt=sse',
    expect: (c) => ({ authorization: `Bearer ${c}`, 'x-goog-api-key': undefined }),
    usage: [30, 12],
  },
  {
    provider: 'gemini',
    kind: 'api_key',
    path: '/v1beta/models/gemini-3.1-pro-preview:streamGenerateContent?alt=sse',
    expect: (c) => ({ 'x-goog-api-key': c, authorization: undefined }),
    usage: [30, 12],
  },
];

describe('credential swap', () => {
  it.each(CASES)(
    '$provider $kind: the upstream receives the real credential, never the placeholder, and usage is reported',
    async (c) => {
      const s = await setUp(c.provider, c.kind);
      const call = cliCall(c.provider, c.kind, s.agent, s.placeholder);
      const response = await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      const text = await response.text();
      expect(text.length).toBeGreaterThan(0);

      expect(s.upstream.requests).toHaveLength(1);
      const seen = s.upstream.requests[0];
      expect(seen?.method).toBe('POST');
      expect(seen?.url).toBe(c.path);
      expect(seen?.body).toBe(call.body);
      expect(seen?.headers.host).toBe(s.upstream.host);
      for (const [name, value] of Object.entries(c.expect(s.credential))) expect(seen?.headers[name]).toBe(value);
      expect(JSON.stringify(seen?.headers)).not.toContain(s.placeholder);
      const sent: Record<string, string> = call.headers;
      if (c.provider === 'claude') expect(seen?.headers['anthropic-beta']).toBe(sent['anthropic-beta']);
      // Nothing real reaches the agent's side: not in its profile, not in the answer.
      expect(JSON.stringify(s.agent)).not.toContain(s.credential);
      expect(text).not.toContain(s.credential);

      await s.proxy.close();
      const reports = s.keyfleet.usageCalls;
      expect(reports.at(-1)).toEqual({
        authorization: `Bearer ${s.taskToken}`,
        contentType: 'application/json',
        body: { requests: 1, inputTokens: c.usage[0], outputTokens: c.usage[1], statusCounts: { '200': 1 } },
      });
    },
  );

  it('serves the agent profile once: a second fetch is 410', async () => {
    const s = await setUp('claude', 'oauth');
    const again = await fetch(`${s.proxy.url}/_keyfleet/profile`);
    expect(again.status).toBe(410);
    expect(s.agent.env.ANTHROPIC_BASE_URL).toBe(s.proxy.url);
  });

  it('refuses a request without this launch’s placeholder with 403 and contacts no upstream', async () => {
    const s = await setUp('claude', 'oauth');
    const other = await setUp('claude', 'oauth');
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${other.placeholder}`, `Basic ${s.placeholder}`]) {
      const answer = await raw(s.proxy.port, {
        method: 'POST',
        path: '/v1/messages',
        headers: { host: `127.0.0.1:${s.proxy.port}`, ...(authorization ? { authorization } : {}) },
        body: '{}',
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({
        error: { code: 'forbidden', message: 'The proxy accepts only this task’s placeholder credential.' },
      });
    }
    expect(s.upstream.requests).toEqual([]);
    expect(s.upstream.connections()).toBe(0);
  });
  it('stops forwarding once the launch has expired, even for an API key', async () => {
    const launchExpiresAt = Date.now() + 7200_000;
    const s = await setUp('gemini', 'api_key', { launchExpiresAt });
    const call = cliCall('gemini', 'api_key', s.agent, s.placeholder);
    s.clock.now = launchExpiresAt - 1;
    expect((await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body })).status).toBe(200);
    s.clock.now = launchExpiresAt;
    const late = await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body });
    expect(late.status).toBe(403);
    expect(await late.json()).toEqual({
      error: { code: 'task_expired', message: 'This task’s time is up: the proxy no longer forwards its requests.' },
    });
    expect(s.upstream.requests).toHaveLength(1);
  });
});

describe('never an open proxy', () => {
  it('refuses absolute-form targets, CONNECT, other Host headers and escaping paths with 403, connecting nowhere', async () => {
    const s = await setUp('codex', 'oauth');
    const other = await startRecordingUpstream();
    cleanups.push(other.close);
    const auth = { authorization: `Bearer ${s.placeholder}` };
    const own = `127.0.0.1:${s.proxy.port}`;
    const attempts = [
      { path: `${other.base}/backend-api/codex/responses`, headers: { host: other.host, ...auth } },
      { path: `${other.base}/backend-api/codex/responses`, headers: { host: own, ...auth } },
      { path: '/backend-api/codex/responses', headers: { host: other.host, ...auth } },
      { path: '/backend-api/codex/responses', headers: { host: 'chatgpt.com', ...auth } },
      { path: `//${other.host}/backend-api/codex/responses`, headers: { host: own, ...auth } },
      { path: '/backend-api/codex/../../admin', headers: { host: own, ...auth } },
      { path: '/backend-api/codex/%2e%2e/%2E%2E/admin', headers: { host: own, ...auth } },
      { path: '/somewhere-else/responses', headers: { host: own, ...auth } },
    ];
    for (const attempt of attempts) {
      const answer = await raw(s.proxy.port, { method: 'POST', ...attempt, body: '{}' });
      expect([attempt.path, answer.status]).toEqual([attempt.path, 403]);
    }
    const connect = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.proxy.port, method: 'CONNECT', path: other.host });
      req.on('connect', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(connect).toBe(403);
    expect(other.connections()).toBe(0);
    expect(s.upstream.connections()).toBe(0);
  });

  it('drops every credential and identity header the agent sends and attaches only the account’s', async () => {
    const s = await setUp('claude', 'api_key');
    const answer = await raw(s.proxy.port, {
      method: 'POST',
      path: '/v1/messages?beta=true',
      headers: {
        host: `127.0.0.1:${s.proxy.port}`,
        'x-api-key': s.placeholder,
        authorization: 'Bearer agent-chosen-token',
        'proxy-authorization': 'Basic YWdlbnQ6c2VjcmV0',
        cookie: 'session=agent-cookie',
        'x-goog-api-key': 'agent-google-key',
        'chatgpt-account-id': 'acct_agent',
        'x-forwarded-for': '203.0.113.9',
        'anthropic-version': '2023-06-01',
      },
      body: '{}',
    });
    expect(answer.status).toBe(200);
    const headers = s.upstream.requests[0]?.headers ?? {};
    expect(headers['x-api-key']).toBe(s.credential);
    for (const dropped of [
      'authorization',
      'proxy-authorization',
      'cookie',
      'x-goog-api-key',
      'chatgpt-account-id',
      'x-forwarded-for',
    ]) {
      expect([dropped, headers[dropped]]).toEqual([dropped, undefined]);
    }
    expect(headers['anthropic-version']).toBe('2023-06-01');
    expect(headers['accept-encoding']).toBe('identity');
  });
});

describe('streaming', () => {
  it('delivers the first SSE event to the agent before the upstream has finished its answer', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let upstreamEnded = false;
    const s = await setUp('claude', 'api_key', {
      responder: async (_request, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(sse([['message_start', { type: 'message_start', message: { usage: { input_tokens: 3 } } }]]));
        // Held until the agent has seen the first event (or 5 s, which fails the test below).
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 5000))]);
        upstreamEnded = true;
        res.end(sse([['message_delta', { type: 'message_delta', usage: { output_tokens: 2 } }]]));
      },
    });
    const call = cliCall('claude', 'api_key', s.agent, s.placeholder);
    const response = await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body });
    const reader = response.body?.getReader();
    const first = await reader?.read();
    const endedBeforeFirstByte = upstreamEnded;
    release();
    expect(endedBeforeFirstByte).toBe(false);
    expect(new TextDecoder().decode(first?.value)).toContain('event: message_start');
    let rest = '';
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toContain('event: message_delta');
    await s.proxy.close();
    expect(s.keyfleet.usageCalls.at(-1)?.body).toMatchObject({ inputTokens: 3, outputTokens: 2 });
  });

  it('streams a request body to an API-key upstream as the agent sends it', async () => {
    let firstPartSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      firstPartSeen = resolve;
    });
    const received: string[] = [];
    // A raw upstream handler watches the body arrive; the recording one reads it whole first.
    const live = createServer((req, res) => {
      req.on('data', (chunk: Buffer) => {
        received.push(chunk.toString('utf8'));
        firstPartSeen();
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => live.close(() => resolve())));
    const port = (live.address() as { port: number }).port;
    const streamed = await setUpWithUpstream('codex', 'api_key', `http://127.0.0.1:${port}`);
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: streamed.proxy.port,
          method: 'POST',
          path: '/v1/responses',
          headers: { authorization: `Bearer ${streamed.placeholder}`, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"part":1,');
      void seen.then(() => req.end('"part":2}'));
    });
    expect(await answer).toBe(200);
    expect(received[0]).toBe('{"part":1,');
    expect(received.join('')).toBe('{"part":1,"part":2}');
  });
});

/** A proxy whose account's upstream is an arbitrary loopback server (not a recording one). */
async function setUpWithUpstream(provider: ProxyProvider, kind: ProxyKind, base: string) {
  const taskToken = `kft_${randomBytes(16).toString('hex')}`;
  const ticket = `kftk_${randomBytes(16).toString('hex')}`;
  const credential = realCredential(provider, kind, Date.now() + 3600_000);
  const keyfleet = await startFakeKeyfleet(
    ticket,
    ticketProfile(provider, kind, { upstream: base, credential, taskToken }),
  );
  cleanups.push(keyfleet.close);
  const proxy = await startProxy({ apiUrl: keyfleet.url, ticket, port: 0, reportIntervalMs: 3600_000 });
  cleanups.push(proxy.close);
  const agent = (await (await fetch(`${proxy.url}/_keyfleet/profile`)).json()) as CliProfile;
  const placeholder = placeholderOf(provider, kind, agent);
  secrets.push(credential, taskToken, ticket, placeholder);
  return { proxy, keyfleet, placeholder, credential };
}

describe('token renewal', () => {
  const codexCall = (s: Setup) =>
    fetch(`${s.proxy.url}/backend-api/codex/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.placeholder}`, 'content-type': 'application/json' },
      body: '{"model":"m"}',
    });
  const lastAuthorization = (s: Setup) => s.upstream.requests.at(-1)?.headers.authorization;

  it('renews an expired access token through the task token before forwarding', async () => {
    const renewed = fakeJwt({ exp: 9_999_999_999, sub: 'renewed' });
    secrets.push(renewed);
    const s = await setUp('codex', 'oauth', { tokens: [{ access_token: renewed, expires_in: 3600 }] });
    expect(s.keyfleet.tokenCalls).toEqual([]);
    s.clock.now += 3600_000 + 1000;
    expect((await codexCall(s)).status).toBe(200);
    expect(lastAuthorization(s)).toBe(`Bearer ${renewed}`);
    expect(s.keyfleet.tokenCalls).toEqual([{ authorization: `Bearer ${s.taskToken}`, query: { provider: 'codex' } }]);
  });

  it('renews in the background when the token is about to expire, still using it meanwhile', async () => {
    const renewed = fakeJwt({ exp: 9_999_999_999, sub: 'renewed-early' });
    secrets.push(renewed);
    const s = await setUp('codex', 'oauth', { tokens: [{ access_token: renewed, expires_in: 3600 }] });
    s.clock.now += 3600_000 - 120_000;
    await codexCall(s);
    expect(lastAuthorization(s)).toBe(`Bearer ${s.credential}`);
    await vi.waitFor(async () => {
      await codexCall(s);
      expect(lastAuthorization(s)).toBe(`Bearer ${renewed}`);
    });
    expect(s.keyfleet.tokenCalls).toHaveLength(1);
  });

  it('asks once at start for a token whose expiry the profile does not say (Claude)', async () => {
    const renewed = `sk-ant-oat01-renewed-${randomBytes(8).toString('hex')}`;
    secrets.push(renewed);
    const s = await setUp('claude', 'oauth', { tokens: [{ access_token: renewed, expires_in: 28_800 }] });
    await vi.waitFor(() => expect(s.keyfleet.tokenCalls).toHaveLength(1));
    await vi.waitFor(async () => {
      const call = cliCall('claude', 'oauth', s.agent, s.placeholder);
      await (await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body })).text();
      expect(s.upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${renewed}`);
    });
    expect(s.keyfleet.tokenCalls).toEqual([{ authorization: `Bearer ${s.taskToken}`, query: { provider: 'claude' } }]);
  });

  it('on an upstream 401 renews once (recover) and sends the same request again', async () => {
    const renewed = fakeJwt({ exp: 9_999_999_999, sub: 'after-401' });
    secrets.push(renewed);
    const s = await setUp('codex', 'oauth', {
      tokens: [{ access_token: renewed, expires_in: 3600 }],
      responder: (request, res) => {
        if (request.headers.authorization === `Bearer ${renewed}`)
          return providerStreams(request, res, undefined as never);
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"token_expired"}}');
      },
    });
    const response = await codexCall(s);
    expect(response.status).toBe(200);
    await response.text();
    expect(s.upstream.requests.map((r) => [r.headers.authorization, r.body])).toEqual([
      [`Bearer ${s.credential}`, '{"model":"m"}'],
      [`Bearer ${renewed}`, '{"model":"m"}'],
    ]);
    expect(s.keyfleet.tokenCalls).toEqual([
      { authorization: `Bearer ${s.taskToken}`, query: { provider: 'codex', recover: 'true' } },
    ]);
  });

  it('passes a 401 through when the body was too large to keep, and renews for the CLI’s retry', async () => {
    const renewed = fakeJwt({ exp: 9_999_999_999, sub: 'after-big-401' });
    secrets.push(renewed);
    const s = await setUp('codex', 'oauth', {
      replayLimitBytes: 8,
      tokens: [{ access_token: renewed, expires_in: 3600 }],
      responder: (request, res) => {
        res.writeHead(request.headers.authorization === `Bearer ${renewed}` ? 200 : 401, {
          'content-type': 'application/json',
        });
        res.end('{}');
      },
    });
    expect((await codexCall(s)).status).toBe(401);
    expect(s.upstream.requests).toHaveLength(1);
    await vi.waitFor(() => expect(s.keyfleet.tokenCalls).toHaveLength(1));
    await vi.waitFor(async () => expect((await codexCall(s)).status).toBe(200));
    expect(s.keyfleet.tokenCalls[0]?.query).toEqual({ provider: 'codex', recover: 'true' });
  });

  it('answers Codex’s own refresh with the placeholder, never a real token', async () => {
    const s = await setUp('codex', 'oauth');
    const url = s.agent.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE as string;
    expect(url).toBe(`${s.proxy.url}/_keyfleet/codex/token`);
    const refresh = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
        grant_type: 'refresh_token',
        refresh_reason: 'proactive_expiry',
        refresh_token: s.placeholder,
      }),
    });
    expect(refresh.status).toBe(200);
    const body = (await refresh.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ access_token: s.placeholder, id_token: s.placeholder, refresh_token: s.placeholder });
    const wrong = await fetch(url, { method: 'POST', body: JSON.stringify({ refresh_token: 'guess' }) });
    expect(wrong.status).toBe(400);
    expect(s.keyfleet.tokenCalls).toEqual([]);
  });
});

describe('usage and rate limits', () => {
  it('reports a 429 with Anthropic’s unified reset as a limit until that reset, periodically', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3 * 3600;
    const s = await setUp('claude', 'oauth', {
      reportIntervalMs: 50,
      responder: (_request, res) => {
        res.writeHead(429, {
          'content-type': 'application/json',
          'retry-after': '120',
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(reset),
          'anthropic-ratelimit-unified-representative-claim': 'five_hour',
        });
        res.end('{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}');
      },
    });
    const call = cliCall('claude', 'oauth', s.agent, s.placeholder);
    const answer = await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('anthropic-ratelimit-unified-reset')).toBe(String(reset));
    await answer.text();
    await vi.waitFor(() => expect(s.keyfleet.usageCalls.length).toBeGreaterThan(0));
    expect(s.keyfleet.usageCalls[0]?.body).toEqual({
      requests: 1,
      inputTokens: 0,
      outputTokens: 0,
      statusCounts: { '429': 1 },
      rateLimit: { limited: true, resetsAt: new Date(reset * 1000).toISOString(), window: 'five_hour' },
    });
  });

  it('reports Gemini’s RESOURCE_EXHAUSTED retry delay and Codex’s exhausted window read from real answers', async () => {
    const gemini = await setUp('gemini', 'oauth', {
      responder: (_request, res) => {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: 429,
              status: 'RESOURCE_EXHAUSTED',
              details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '42s' }],
            },
          }),
        );
      },
    });
    const call = cliCall('gemini', 'oauth', gemini.agent, gemini.placeholder);
    expect((await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body })).status).toBe(429);
    await gemini.proxy.close();
    expect(gemini.keyfleet.usageCalls.at(-1)?.body).toEqual({
      requests: 1,
      inputTokens: 0,
      outputTokens: 0,
      statusCounts: { '429': 1 },
      rateLimit: { limited: true, resetsAt: new Date(gemini.clock.now + 42_000).toISOString() },
    });

    const codex = await setUp('codex', 'api_key', {
      responder: (_request, res) => {
        res.writeHead(429, {
          'content-type': 'application/json',
          'x-codex-primary-used-percent': '100',
          'x-codex-primary-window-minutes': '300',
          'x-codex-primary-reset-after-seconds': '900',
        });
        res.end('{"error":{"type":"usage_limit_reached"}}');
      },
    });
    const codexCall = cliCall('codex', 'api_key', codex.agent, codex.placeholder);
    await (await fetch(codexCall.url, { method: 'POST', headers: codexCall.headers, body: codexCall.body })).text();
    await codex.proxy.close();
    expect(codex.keyfleet.usageCalls.at(-1)?.body).toEqual({
      requests: 1,
      inputTokens: 0,
      outputTokens: 0,
      statusCounts: { '429': 1 },
      rateLimit: { limited: true, resetsAt: new Date(codex.clock.now + 900_000).toISOString(), window: 'five_hour' },
    });
  });

  it('answers 502 upstream_error when the upstream cannot be reached, and logs only the failure’s code', async () => {
    const s = await setUp('gemini', 'api_key');
    await s.upstream.close();
    const call = cliCall('gemini', 'api_key', s.agent, s.placeholder);
    const answer = await fetch(call.url, { method: 'POST', headers: call.headers, body: call.body });
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({
      error: { code: 'upstream_error', message: 'The proxy could not reach the provider.' },
    });
    expect(capturedLogs()).toContain('upstream unreachable: ECONNREFUSED');
  });
});

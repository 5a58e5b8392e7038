import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeProviderApi, startFakeProviderApi } from '#test/helpers/fake-provider-api.ts';
import { checkNoLeaksAfterEach } from '#test/helpers/leaks.ts';
import { capturedLogs } from '#test/helpers/logs.ts';

let api: TestApi;
let fake: FakeProviderApi;

const KEYS = {
  claude: 'sk-ant-api03-helper-key-0001',
  codex: 'sk-proj-helper-key-0002',
  gemini: 'AIza-helper-key-0003',
};

beforeAll(async () => {
  fake = await startFakeProviderApi();
  for (const key of Object.values(KEYS)) fake.validKeys.add(key);
  api = await startTestApi({
    KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify({
      claude: { apiBaseUrl: fake.base },
      codex: { apiBaseUrl: `${fake.base}/v1` },
      gemini: { apiBaseUrl: fake.base },
    }),
  });
});
afterAll(async () => {
  await api.stop();
  await fake.close();
});

// Each test starts with the canned answers below (the table is empty, the fake has seen nothing).
beforeEach(() => {
  fake.answers.clear();
  fake.answers.set('/v1/messages', {
    status: 200,
    body: { content: [{ type: 'text', text: '"Add retry to the upload client."\n' }] },
  });
  fake.answers.set('/v1/responses', {
    status: 200,
    body: {
      output: [
        { type: 'reasoning', summary: [] },
        {
          type: 'message',
          content: [
            {
              type: 'output_text',
              text: '```\nfix(upload): retry failed chunks\n\nRetries each chunk three times.\n```',
            },
          ],
        },
      ],
    },
  });
  fake.answers.set('/v1beta/models/gemini-2.5-flash:generateContent', {
    status: 200,
    body: { candidates: [{ content: { parts: [{ text: 'Update the README' }] } }] },
  });
});

// No key reaches the logs or a response.
checkNoLeaksAfterEach(() => Object.values(KEYS), { responses: () => api.responses.join('\n') });

const setAgent = (defaultAgent: string) => api.call('PATCH', '/v1/settings', { body: { defaultAgent } });
const addKey = (provider: string, apiKey: string, endpoint?: unknown) =>
  api.call<{ account: { id: string } }>('POST', `/v1/providers/${provider}/accounts`, {
    body: { kind: 'api_key', label: `${provider} helper`, apiKey, ...(endpoint ? { endpoint } : {}) },
  });
const taskName = (instructions: string) =>
  api.call<{ name: string; error?: { code: string; message: string } }>('POST', '/v1/helpers/task-name', {
    as: 'alice',
    body: { instructions },
  });
const commitMessage = (diff: string) =>
  api.call<{ message: string; error?: { code: string; message: string } }>('POST', '/v1/helpers/commit-message', {
    as: 'alice',
    body: { diff },
  });

describe('helpers', () => {
  it('answers provider_not_configured while the default agent has no API-key account', async () => {
    await setAgent('claude');
    const res = await taskName('Add retries to uploads');
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('provider_not_configured');
    expect(fake.seen).toHaveLength(0);
  });

  it('names a task with Claude’s Messages API and cleans the answer', async () => {
    await setAgent('claude');
    await addKey('claude', KEYS.claude);
    const res = await taskName('The upload client gives up on the first network error; retry chunks.');
    expect(res.body).toEqual({ name: 'Add retry to the upload client' });
    expect(fake.seen).toHaveLength(1);
    const call = fake.seen[0];
    expect(call?.path).toBe('/v1/messages');
    expect(call?.headers).toMatchObject({
      'x-api-key': KEYS.claude,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    });
    const body = JSON.parse(call?.body ?? '{}');
    expect(body).toMatchObject({
      model: 'claude-haiku-4-5',
      max_tokens: 60,
      system: expect.stringContaining('name software tasks'),
    });
    expect(body.messages).toEqual([{ role: 'user', content: expect.stringContaining('retry chunks') }]);
  });

  it('uses the provider’s configured model', async () => {
    await setAgent('claude');
    await addKey('claude', KEYS.claude);
    await api.call('PATCH', '/v1/settings', { body: { models: { claude: 'claude-team-model' } } });
    await taskName('Anything');
    expect(fake.seen).toHaveLength(1);
    expect(JSON.parse(fake.seen[0]?.body ?? '{}').model).toBe('claude-team-model');
  });

  it('writes a conventional commit message with the Codex Responses API', async () => {
    await setAgent('codex');
    await addKey('codex', KEYS.codex);
    const res = await commitMessage('diff --git a/upload.ts b/upload.ts\n+ retry(3)');
    expect(res.body).toEqual({ message: 'fix(upload): retry failed chunks\n\nRetries each chunk three times.' });
    const call = fake.seen[0];
    expect(call?.path).toBe('/v1/responses');
    expect(call?.headers.authorization).toBe(`Bearer ${KEYS.codex}`);
    expect(JSON.parse(call?.body ?? '{}')).toMatchObject({
      model: 'gpt-5-mini',
      instructions: expect.stringContaining('Conventional Commits'),
      input: expect.stringContaining('retry(3)'),
      store: false,
    });
  });

  it('calls an Azure-style custom endpoint with its api-version and the configured model', async () => {
    await setAgent('codex');
    await addKey('codex', KEYS.codex);
    await api.call('PATCH', '/v1/settings', { body: { models: { codex: 'my-gpt-deployment' } } });
    const added = await addKey('codex', KEYS.codex, {
      type: 'custom',
      baseUrl: `${fake.base}/openai/v1`,
      apiVersion: '2025-04-01-preview',
    });
    await api.call('PUT', '/v1/providers/codex/active', { body: { accountId: added.body.account.id } });
    fake.answers.set('/openai/v1/responses', { status: 200, body: { output_text: 'Update upload retries' } });
    const res = await commitMessage('diff');
    expect(res.body).toEqual({ message: 'chore: update upload retries' });
    expect(fake.seen[0]).toMatchObject({
      path: '/openai/v1/responses',
      query: { 'api-version': '2025-04-01-preview' },
    });
    expect(JSON.parse(fake.seen[0]?.body ?? '{}').model).toBe('my-gpt-deployment');
  });

  it('uses Gemini’s generateContent', async () => {
    await setAgent('gemini');
    await addKey('gemini', KEYS.gemini);
    const res = await taskName('Docs are stale');
    expect(res.body).toEqual({ name: 'Update the README' });
    expect(fake.seen[0]).toMatchObject({
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      headers: { 'x-goog-api-key': KEYS.gemini },
    });
    expect(JSON.parse(fake.seen[0]?.body ?? '{}')).toMatchObject({
      systemInstruction: { parts: [{ text: expect.any(String) }] },
      contents: [{ role: 'user', parts: [{ text: expect.stringContaining('Docs are stale') }] }],
    });
  });

  it('refuses Bob and Grok as default agent with conflict', async () => {
    for (const agent of ['bob', 'grok']) {
      await setAgent(agent);
      const res = await taskName('x');
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({
        code: 'conflict',
        message: expect.stringContaining('helpers support Claude, Codex and Gemini'),
      });
    }
  });

  it('caps inputs: instructions 8 KiB, diff 48 KiB', async () => {
    await setAgent('claude');
    expect((await taskName('x'.repeat(8 * 1024 + 1))).status).toBe(413);
    expect((await commitMessage('y'.repeat(48 * 1024 + 1))).status).toBe(413);
    expect((await taskName('   ')).status).toBe(400);
    expect(fake.seen).toHaveLength(0);
  });

  it('answers upstream_error naming the provider, never echoing the key', async () => {
    await setAgent('claude');
    await addKey('claude', KEYS.claude);
    fake.answers.set('/v1/messages', { status: 500, body: { error: `internal, key was ${KEYS.claude}` } });
    const res = await taskName('x');
    expect(res.status).toBe(502);
    expect(res.body.error).toEqual({
      code: 'upstream_error',
      message: 'Claude (Anthropic) answered HTTP 500 to the helper request.',
    });
  });

  it('answers upstream_error with a fixed phrase, keeping socket details in the log', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    await setAgent('claude');
    const added = await addKey('claude', KEYS.claude, { type: 'custom', baseUrl: `http://127.0.0.1:${port}` });
    await api.call('PUT', '/v1/providers/claude/active', { body: { accountId: added.body.account.id } });

    const refused = await taskName('x');
    expect(refused.status).toBe(502);
    expect(refused.body.error).toEqual({
      code: 'upstream_error',
      message: 'Claude (Anthropic) could not be reached for the helper (could not connect); try again.',
    });
    expect(capturedLogs()).toContain(`127.0.0.1:${port}`);

    process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'false';
    try {
      const blocked = await taskName('x');
      expect(blocked.body.error).toEqual({
        code: 'upstream_error',
        message: 'Claude (Anthropic) could not be reached for the helper (address not allowed); try again.',
      });
    } finally {
      process.env.KEYFLEET_ALLOW_LOOPBACK_CALLS = 'true';
    }
  });
});

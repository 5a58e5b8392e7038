import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The providers' model APIs as the real agent CLIs call them (shapes measured in CLI-FIDELITY.md),
 * on loopback: Anthropic Messages, Codex's Responses behind the ChatGPT backend, Gemini Code Assist
 * and the Gemini API. Each answers a fixed reply and records exactly what it was sent.
 */
export interface UpstreamRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeAgentUpstream {
  base: string;
  requests: UpstreamRequest[];
  close: () => Promise<void>;
}

export const REPLY = 'hello from the keyfleet fake upstream';

function sse(events: [string | null, unknown][]): string {
  return events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`).join('');
}

const anthropicStream = sse([
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'fake',
        content: [],
        stop_reason: null,
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    },
  ],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: REPLY } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  [
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } },
  ],
  ['message_stop', { type: 'message_stop' }],
]);

const responsesStream = sse([
  ['response.created', { type: 'response.created', response: { id: 'resp_1' } }],
  [
    'response.output_item.done',
    {
      type: 'response.output_item.done',
      output_index: 0,
      item: { type: 'message', role: 'assistant', id: 'msg_1', content: [{ type: 'output_text', text: REPLY }] },
    },
  ],
  [
    'response.completed',
    {
      type: 'response.completed',
      response: { id: 'resp_1', usage: { input_tokens: 5, output_tokens: 5, total_tokens: 10 } },
    },
  ],
]);

const geminiChunk = {
  candidates: [{ content: { parts: [{ text: REPLY }], role: 'model' }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 5, totalTokenCount: 10 },
};

/** Gemini CLI first asks a classifier model (non-streaming) to rate the request; it wants this JSON. */
const geminiClassifier = {
  candidates: [
    {
      content: {
        parts: [{ text: JSON.stringify({ complexity_reasoning: 'Simple request.', complexity_score: 10 }) }],
        role: 'model',
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 5, totalTokenCount: 10 },
};

export async function startFakeAgentUpstream(): Promise<FakeAgentUpstream> {
  const requests: UpstreamRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    requests.push({
      method: req.method ?? 'GET',
      path: `${path}${url.search}`,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const stream = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(body);
    };
    // Anthropic Messages (Claude Code).
    if (path === '/v1/messages') return stream(anthropicStream);
    // Codex behind the ChatGPT backend.
    if (path.endsWith('/codex/responses') || path === '/v1/responses') return stream(responsesStream);
    if (path.endsWith('/codex/models')) return json(200, { models: [] });
    if (path.includes('/wham/') || path.includes('/ps/')) return json(404, { detail: 'not here' });
    // Gemini Code Assist (OAuth).
    if (path.endsWith(':loadCodeAssist'))
      return json(200, { currentTier: { id: 'standard-tier' }, cloudaicompanionProject: 'fake-project' });
    if (path.endsWith(':retrieveUserQuota') || path.endsWith(':listExperiments')) return json(200, {});
    if (path.startsWith('/v1internal:streamGenerateContent'))
      return stream(sse([[null, { response: geminiChunk, traceId: 't1' }]]));
    if (path.startsWith('/v1internal:generateContent')) return json(200, { response: geminiClassifier, traceId: 't1' });
    if (path.startsWith('/v1internal:countTokens')) return json(200, { totalTokens: 5 });
    // Gemini API (API keys).
    if (path.includes(':streamGenerateContent')) return stream(sse([[null, geminiChunk]]));
    if (path.includes(':generateContent')) return json(200, geminiClassifier);
    if (path.includes(':countTokens')) return json(200, { totalTokens: 5 });
    json(404, { error: { message: `no fake for ${path}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageTap } from '#shared/proxy/usage.ts';

const event = (name: string | null, data: unknown, eol = '\n') =>
  `${name ? `event: ${name}${eol}` : ''}data: ${JSON.stringify(data)}${eol}${eol}`;

const ANTHROPIC = [
  event('message_start', {
    type: 'message_start',
    message: {
      usage: { input_tokens: 12, cache_creation_input_tokens: 3, cache_read_input_tokens: 5, output_tokens: 1 },
    },
  }),
  event('content_block_delta', {
    type: 'content_block_delta',
    delta: { type: 'text_delta', text: 'usage" is a word' },
  }),
  event('message_delta', { type: 'message_delta', usage: { output_tokens: 4 } }),
  event('message_delta', { type: 'message_delta', usage: { output_tokens: 9 } }),
  event('message_stop', { type: 'message_stop' }),
].join('');

const RESPONSES = [
  event('response.created', { type: 'response.created', response: { id: 'r' } }),
  event('response.output_text.delta', { type: 'response.output_text.delta', delta: 'hi' }),
  event('response.completed', {
    type: 'response.completed',
    response: { id: 'r', usage: { input_tokens: 40, output_tokens: 6, total_tokens: 46 } },
  }),
].join('');

/** Gemini's API writes CRLF line ends; its running totals grow chunk by chunk. */
const GEMINI = [
  event(null, { candidates: [], usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 1 } }, '\r\n'),
  event(
    null,
    { candidates: [], usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 7, thoughtsTokenCount: 2 } },
    '\r\n',
  ),
].join('');

function tap(
  dialect: 'anthropic' | 'openai-responses' | 'gemini',
  body: string,
  cuts: number[],
  type = 'text/event-stream',
) {
  const t = new UsageTap(dialect, type);
  const bytes = Buffer.from(body);
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    t.write(bytes.subarray(from, cut));
    from = cut;
  }
  t.write(bytes.subarray(from));
  t.end();
  return t.usage;
}

describe('UsageTap', () => {
  it('reads Anthropic message_start input (with cache tokens) and the last message_delta output', () => {
    expect(tap('anthropic', ANTHROPIC, [])).toEqual({ input: 20, output: 9 });
  });

  it('reads OpenAI Responses usage from response.completed', () => {
    expect(tap('openai-responses', RESPONSES, [])).toEqual({ input: 40, output: 6 });
  });

  it('reads Gemini usageMetadata running totals, thoughts counted as output, from a CRLF stream', () => {
    expect(tap('gemini', GEMINI, [])).toEqual({ input: 20, output: 9 });
  });

  it('reads Code Assist’s wrapped chunks and a non-streamed JSON answer', () => {
    const wrapped = event(null, { response: { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } } });
    expect(tap('gemini', wrapped, [])).toEqual({ input: 3, output: 2 });
    const json = JSON.stringify({ type: 'message', usage: { input_tokens: 8, output_tokens: 2 } });
    expect(tap('anthropic', json, [5], 'application/json')).toEqual({ input: 8, output: 2 });
  });

  it('gives the same usage wherever the stream is cut into chunks', () => {
    const cases = [
      ['anthropic', ANTHROPIC, { input: 20, output: 9 }],
      ['openai-responses', RESPONSES, { input: 40, output: 6 }],
      ['gemini', GEMINI, { input: 20, output: 9 }],
    ] as const;
    for (const [dialect, body, expected] of cases) {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: Buffer.byteLength(body) }), { maxLength: 8 }), (cuts) => {
          expect(tap(dialect, body, cuts)).toEqual(expected);
        }),
        { numRuns: 150 },
      );
    }
  });

  it('counts nothing from malformed events or a body without usage', () => {
    expect(tap('anthropic', 'event: message_delta\ndata: {"usage": broken\n\n', [])).toEqual({ input: 0, output: 0 });
    expect(tap('gemini', '<html>usageMetadata"</html>', [], 'text/html')).toEqual({ input: 0, output: 0 });
  });

  it('keeps a small JSON error body for the rate-limit readers', () => {
    const t = new UsageTap('gemini', 'application/json');
    t.write(Buffer.from('{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}'));
    t.end();
    expect(t.jsonBody).toEqual({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });
});

import type { UsageDialect } from '#shared/proxy/routes.ts';

/** Tokens of one answer so far. Providers repeat running totals, so readers set, never add. */
export interface AnswerUsage {
  input: number;
  output: number;
}

type Event = Record<string, unknown>;
type UsageReader = (event: Event, usage: AnswerUsage) => void;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const obj = (value: unknown): Event | undefined =>
  typeof value === 'object' && value !== null ? (value as Event) : undefined;

/** Anthropic counts cached prompt tokens apart from `input_tokens`; all of them were read. */
function anthropicUsage(source: Event | undefined, usage: AnswerUsage): void {
  if (!source) return;
  if ('input_tokens' in source) {
    usage.input =
      num(source.input_tokens) + num(source.cache_creation_input_tokens) + num(source.cache_read_input_tokens);
  }
  if ('output_tokens' in source) usage.output = num(source.output_tokens);
}

/**
 * Per dialect, how one streamed event (or a whole JSON answer) updates the answer's usage:
 * Anthropic `message_start` / `message_delta` (and a non-streamed `message`), OpenAI Responses
 * `response.completed` (and a non-streamed `response`), Gemini `usageMetadata` (bare or wrapped in
 * Code Assist's `{response: …}`), whose counts are running totals.
 */
export const USAGE_READERS: Record<UsageDialect, UsageReader> = {
  anthropic: (event, usage) => {
    if (event.type === 'message_start') anthropicUsage(obj(obj(event.message)?.usage), usage);
    else if (event.type === 'message_delta' || event.type === 'message') anthropicUsage(obj(event.usage), usage);
  },
  'openai-responses': (event, usage) => {
    const done = ['response.completed', 'response.incomplete', 'response.failed'].includes(String(event.type));
    const source = done ? obj(obj(event.response)?.usage) : event.object === 'response' ? obj(event.usage) : undefined;
    if (!source) return;
    usage.input = num(source.input_tokens);
    usage.output = num(source.output_tokens);
  },
  gemini: (event, usage) => {
    const meta = obj(event.usageMetadata) ?? obj(obj(event.response)?.usageMetadata);
    if (!meta) return;
    usage.input = num(meta.promptTokenCount);
    usage.output = num(meta.candidatesTokenCount) + num(meta.thoughtsTokenCount);
  },
};

/** A substring every usage-bearing event of the dialect contains. */
const USAGE_MARKERS: Record<UsageDialect, string> = {
  anthropic: '"usage"',
  'openai-responses': '"usage"',
  gemini: '"usageMetadata"',
};

/** An event larger than this is skipped rather than held (usage events are small). */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Reads usage from an answer while it streams past: Server-Sent Events are parsed event by event
 * (so memory stays bounded by one event), any other JSON body is parsed at the end if it is small.
 * The bytes themselves are never changed or held back; the tap only reads copies.
 */
export class UsageTap {
  readonly usage: AnswerUsage = { input: 0, output: 0 };
  /** The body's first bytes when it was JSON and small (for rate-limit details in error answers). */
  jsonBody: unknown;
  readonly #read: UsageReader;
  readonly #sse: boolean;
  readonly #marker: string;
  readonly #decoder = new TextDecoder();
  #pending = '';
  #data: string[] = [];
  #dataBytes = 0;
  #overflow = false;

  constructor(dialect: UsageDialect, contentType: string | undefined) {
    this.#read = USAGE_READERS[dialect];
    this.#sse = (contentType ?? '').includes('text/event-stream');
    this.#marker = USAGE_MARKERS[dialect];
  }

  write(chunk: Buffer): void {
    if (this.#overflow && !this.#sse) return;
    const text = this.#decoder.decode(chunk, { stream: true });
    if (!this.#sse) {
      this.#pending += text;
      if (this.#pending.length > MAX_EVENT_BYTES) {
        this.#overflow = true;
        this.#pending = '';
      }
      return;
    }
    this.#pending += text;
    let start = 0;
    let newline = this.#pending.indexOf('\n', start);
    while (newline >= 0) {
      const end = newline > start && this.#pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.#line(this.#pending.slice(start, end));
      start = newline + 1;
      newline = this.#pending.indexOf('\n', start);
    }
    this.#pending = this.#pending.length - start > MAX_EVENT_BYTES ? '' : this.#pending.slice(start);
  }

  end(): void {
    if (this.#sse) {
      if (this.#pending) this.#line(this.#pending);
      this.#line('');
      return;
    }
    if (this.#overflow || !this.#pending.trim()) return;
    try {
      const parsed = JSON.parse(this.#pending) as unknown;
      this.jsonBody = parsed;
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
        const event = obj(item);
        if (event) this.#read(event, this.usage);
      }
    } catch {
      // Not JSON: no usage to read.
    }
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (!line.startsWith('data:')) return;
    const data = line.slice(line.startsWith('data: ') ? 6 : 5);
    this.#dataBytes += data.length;
    if (this.#dataBytes > MAX_EVENT_BYTES) {
      this.#data = [];
      return;
    }
    this.#data.push(data);
  }

  #dispatch(): void {
    const data = this.#data.join('\n');
    this.#data = [];
    this.#dataBytes = 0;
    // Only events that mention usage are parsed: a long answer is mostly text deltas.
    if (!data.includes(this.#marker)) return;
    try {
      const event = obj(JSON.parse(data));
      if (event) this.#read(event, this.usage);
    } catch {
      // A malformed event carries no usage we can trust.
    }
  }
}

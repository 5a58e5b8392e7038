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

/**
 * A substring every usage-bearing event of the dialect contains. Without the opening quote: a
 * needle that starts with a common byte makes the byte search several times slower.
 */
const USAGE_MARKERS: Record<UsageDialect, string> = {
  anthropic: 'usage"',
  'openai-responses': 'usage"',
  gemini: 'usageMetadata"',
};

/** An event larger than this is skipped rather than held (usage events are small). */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Index just past the last blank line in `chunk`, or -1. Events end with `\n\n` or, from some
 * servers, `\r\n\r\n`; the first boundary seen decides which, so each chunk is searched once.
 */
function lastBoundary(chunk: Buffer, crlf: boolean): number {
  const at = chunk.lastIndexOf(crlf ? '\n\r\n' : '\n\n');
  return at < 0 ? -1 : at + (crlf ? 3 : 2);
}

/**
 * Reads usage from an answer while it streams past. Server-Sent Events are scanned as bytes for
 * the dialect's usage marker, and only complete events that contain it are decoded and parsed, so
 * a long answer costs little more than a search; memory stays bounded by one event. Any other body
 * is parsed as JSON at the end when it is small. The bytes themselves are never changed or held
 * back: the tap only reads them.
 */
export class UsageTap {
  readonly usage: AnswerUsage = { input: 0, output: 0 };
  /** The parsed body when it was small JSON (error answers carry rate-limit details). */
  jsonBody: unknown;
  readonly #read: UsageReader;
  readonly #sse: boolean;
  readonly #marker: Buffer;
  readonly #markerText: string;
  #pending: Buffer = Buffer.alloc(0);
  #crlf: boolean | undefined;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(dialect: UsageDialect, contentType: string | undefined) {
    this.#read = USAGE_READERS[dialect];
    this.#sse = (contentType ?? '').includes('text/event-stream');
    this.#markerText = USAGE_MARKERS[dialect];
    this.#marker = Buffer.from(this.#markerText);
  }

  write(chunk: Buffer): void {
    if (!this.#sse) {
      this.#size += chunk.length;
      // Past the limit the body will not be parsed: let go of what was kept at once.
      if (this.#size <= MAX_EVENT_BYTES) this.#chunks.push(chunk);
      else this.#chunks = [];
      return;
    }
    this.#crlf ??= chunk.includes('\r\n') ? true : chunk.includes('\n') ? false : undefined;
    const boundary = lastBoundary(chunk, this.#crlf === true);
    if (boundary < 0) {
      this.#pending =
        this.#pending.length + chunk.length > MAX_EVENT_BYTES ? Buffer.alloc(0) : Buffer.concat([this.#pending, chunk]);
      return;
    }
    const head = chunk.subarray(0, boundary);
    if (this.#mentions(head)) this.#events(Buffer.concat([this.#pending, head]).toString('utf8'));
    // A copy, so the pending tail does not keep the whole chunk alive.
    this.#pending = Buffer.from(chunk.subarray(boundary));
  }

  end(): void {
    if (this.#sse) {
      if (this.#pending.length > 0 && this.#pending.includes(this.#marker))
        this.#events(this.#pending.toString('utf8'));
      this.#pending = Buffer.alloc(0);
      return;
    }
    if (this.#size === 0 || this.#size > MAX_EVENT_BYTES) return;
    try {
      const parsed = JSON.parse(Buffer.concat(this.#chunks).toString('utf8')) as unknown;
      this.jsonBody = parsed;
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
        const event = obj(item);
        if (event) this.#read(event, this.usage);
      }
    } catch {
      // Not JSON: no usage to read.
    }
    this.#chunks = [];
  }

  /** Whether the pending tail and `head` together contain the marker (also across their seam). */
  #mentions(head: Buffer): boolean {
    const marker = this.#marker;
    if (head.includes(marker)) return true;
    if (this.#pending.length === 0) return false;
    if (this.#pending.includes(marker)) return true;
    const seam = Buffer.concat([this.#pending.subarray(-(marker.length - 1)), head.subarray(0, marker.length - 1)]);
    return seam.includes(marker);
  }

  /** Parses complete events and reads usage from those that mention it. */
  #events(text: string): void {
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n');
      if (!data.includes(this.#markerText)) continue;
      try {
        const event = obj(JSON.parse(data));
        if (event) this.#read(event, this.usage);
      } catch {
        // A malformed event carries no usage we can trust.
      }
    }
  }
}

import type { IncomingMessage } from 'node:http';

/**
 * A bounded copy of a request body, taken while the body streams upstream, so that a request the
 * upstream refuses with 401 can be sent again with a renewed token. The upstream gets every byte
 * as the agent sends it; the copy only keeps references to the chunks that passed, up to `limit`
 * bytes in all, and lets go of them as soon as it is released or the body grows past the limit.
 */
export class ReplayCopy {
  #chunks: Buffer[] | undefined = [];
  #size = 0;
  #ended = false;
  readonly #limit: number;
  readonly #req: IncomingMessage;
  #settle: (body: Buffer | undefined) => void = () => {};
  readonly #whole: Promise<Buffer | undefined>;
  readonly #onData = (chunk: Buffer) => {
    if (!this.#chunks) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) this.release();
    else this.#chunks.push(chunk);
  };

  /** Starts copying; call it in the same tick as the body is piped upstream, so no chunk is missed. */
  constructor(req: IncomingMessage, limit: number) {
    this.#req = req;
    this.#limit = limit;
    this.#whole = new Promise((resolve) => {
      this.#settle = resolve;
    });
    req.on('data', this.#onData);
    req.once('end', () => {
      this.#ended = true;
      const body = this.#chunks ? Buffer.concat(this.#chunks) : undefined;
      // One buffer from now on, not the chunks beside it.
      if (body) this.#chunks = [body];
      this.#settle(body);
    });
    // Before 'end', the agent went away mid-body; after it, the copy is whole.
    req.once('close', () => {
      if (!this.#ended) this.release();
    });
  }

  /** Whether the body seen so far fits: a 401 can still be answered by sending the request again. */
  get keeping(): boolean {
    return this.#chunks !== undefined;
  }

  /** Stops copying and drops what was kept (not a 401, the body outgrew the limit, the agent left). */
  release(): void {
    this.#req.off('data', this.#onData);
    this.#chunks = undefined;
    this.#settle(undefined);
  }

  /**
   * The whole body once the agent has sent all of it; undefined as soon as it is larger than the
   * limit or the agent has gone. The caller keeps the body flowing: after a 401 nothing upstream
   * reads it any more.
   */
  whole(): Promise<Buffer | undefined> {
    return this.#whole;
  }
}

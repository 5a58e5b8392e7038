import { createInterface } from 'node:readline';

/** What the operator CLI reads and writes; the process's own streams, or test doubles. */
export interface OperatorIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: { write: (text: string) => unknown; isTTY?: boolean };
  stderr: { write: (text: string) => unknown; isTTY?: boolean };
  /** Waits between polls; injectable so tests need not wait for real. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Reads answers line by line from standard input, whether a person types them or a script pipes
 * them in. One reader per run, so several prompts can take successive piped lines.
 */
export class Prompter {
  private lines: AsyncIterator<string> | undefined;

  constructor(private readonly io: OperatorIo) {}

  /** Asks on stderr (stdout stays machine-readable) and answers the next line, trimmed. */
  async ask(question: string): Promise<string> {
    this.io.stderr.write(question);
    this.lines ??= createInterface({ input: this.io.stdin, terminal: false })[Symbol.asyncIterator]();
    const next = await this.lines.next();
    if (next.done) throw new Error('standard input ended before an answer was given');
    return next.value.trim();
  }

  /** Like {@link ask}, but a terminal does not echo what is typed (keys, tokens). */
  async askHidden(question: string): Promise<string> {
    const { stdin } = this.io;
    if (!stdin.isTTY || !stdin.setRawMode) return this.ask(question);
    this.io.stderr.write(question);
    stdin.setRawMode(true);
    try {
      return await readHidden(stdin);
    } finally {
      stdin.setRawMode(false);
      this.io.stderr.write('\n');
    }
  }
}

function readHidden(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(value.trim()));
        if (char === '\u0003') return finish(() => reject(new Error('cancelled')));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const finish = (done: () => void) => {
      stdin.off('data', onData);
      stdin.pause();
      done();
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Everything piped into standard input, trimmed (for `add-key` in scripts). */
export async function readAllStdin(io: OperatorIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Aligned columns, headings first; cells are cut at 60 characters. */
export function table(headings: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [
    headings,
    ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell)))),
  ];
  const clipped = cells.map((row) => row.map((cell) => (cell.length > 60 ? `${cell.slice(0, 59)}…` : cell)));
  const widths = headings.map((_, i) => Math.max(...clipped.map((row) => row[i]?.length ?? 0)));
  return `${clipped
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

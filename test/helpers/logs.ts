/**
 * Captures everything written to stdout and stderr (the Powertools logger writes there), so tests
 * can assert on log lines and search them for secrets. Output is kept out of the test report
 * unless KEYFLEET_TEST_LOGS=1.
 */
const captured: string[] = [];
let installed = false;

export function installLogCapture(): void {
  if (installed) return;
  installed = true;
  const passThrough = process.env.KEYFLEET_TEST_LOGS === '1';
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return passThrough ? original(chunk, ...rest) : true;
    }) as typeof stream.write;
  }
}

/** All captured output so far. */
export function capturedLogs(): string {
  return captured.join('');
}

/** Parsed JSON log lines (Powertools format) captured so far. */
export function capturedLogRecords(): Record<string, unknown>[] {
  return capturedLogs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

import { afterEach, expect } from 'vitest';
import { capturedLogs } from '#test/helpers/logs.ts';

/** Where a file's secrets must never appear, besides the captured logs. */
export interface LeakPlaces {
  /** The table as JSON text (TestApi.tableDump). */
  table?: () => Promise<string>;
  /** Every response body so far (TestApi.responses). */
  responses?: () => string;
  /** Anything else the file captures, e.g. RunTask inputs. */
  other?: () => string | Promise<string>;
}

/**
 * After every test of the file, searches the captured logs and `places` for each value `secrets`
 * returns (it may grow as the tests see new tokens). Each test's output is checked when the test
 * ends, so the check neither depends on running last nor on what earlier tests stored. A failure
 * names the place and the value's first four characters, never the value.
 */
export function checkNoLeaksAfterEach(
  secrets: () => Iterable<string> | Promise<Iterable<string>>,
  places: LeakPlaces = {},
): void {
  afterEach(async () => {
    const texts: Record<string, string> = {
      logs: capturedLogs(),
      table: (await places.table?.()) ?? '',
      responses: places.responses?.() ?? '',
      other: (await places.other?.()) ?? '',
    };
    for (const value of await secrets()) {
      for (const [place, text] of Object.entries(texts)) {
        expect(text.includes(value), `${place} holds the secret ${value.slice(0, 4)}…`).toBe(false);
      }
    }
  });
}

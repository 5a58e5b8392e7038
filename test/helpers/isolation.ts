import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Keeps tests independent of the order they run in (`vitest --sequence.shuffle`): every test starts
 * from state no other test left behind. Helpers that own shared state (the local table) register a
 * reset here; the setup file runs every registered reset before each test, and puts the real clock
 * back after each one.
 */

type Reset = () => Promise<void> | void;

const resets = new Set<Reset>();

/** Runs `reset` before every test until the returned function is called (e.g. when the resource stops). */
export function resetBeforeEachTest(reset: Reset): () => void {
  resets.add(reset);
  return () => {
    resets.delete(reset);
  };
}

/**
 * Suites that tell one story over their tests keep their state from test to test: the console in a
 * browser (test:console), the real agent CLIs (test:cli) and the attack suite's shared world
 * (test:security). Everything `npm test` runs is reset.
 */
const STORY_SUITES = /[\\/]test[\\/](console|cli|security)[\\/]/;

/** Registers the hooks; called once by the setup file, so they run outside every `describe`. */
export function installTestIsolation(): void {
  beforeEach(async (context) => {
    if (STORY_SUITES.test(context.task.file.filepath)) return;
    for (const reset of resets) await reset();
  });
  afterEach(() => {
    // Fake timers a test forgot to undo would freeze the next test's clock.
    vi.useRealTimers();
  });
}

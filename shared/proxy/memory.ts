import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Relayed bytes between two young-generation collections in the sidecar. */
export const COLLECT_EVERY_BYTES = 1024 * 1024;

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => unknown;

/**
 * A young-generation garbage collection on demand, for the sidecar process only. Every chunk the
 * proxy relays is a fresh buffer outside the JavaScript heap, while the objects that hold them are
 * tiny: V8 sees little allocation and lets tens of megabytes of dead buffers pile up before it
 * collects (a 10 MB answer doubled the process's resident memory). A minor collection frees them
 * for a fraction of a millisecond. Uses the process's `gc` when `--expose-gc` gave one; otherwise
 * takes V8's from a new context, the one way to reach it after start.
 */
export function minorCollector(): () => void {
  let gc = (globalThis as { gc?: Gc }).gc;
  // With frozen V8 flags, changing one aborts the process (uncatchably): then V8's own pacing it is.
  if (!gc && process.execArgv.some((arg) => arg.startsWith('--freeze-flags-after-init'))) return () => {};
  if (!gc) {
    setFlagsFromString('--expose-gc');
    try {
      gc = runInNewContext('gc') as Gc;
    } catch {
      // A runtime that does not hand it out: the proxy works the same, with V8's own pacing.
      return () => {};
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  const collect = gc;
  return () => void collect({ type: 'minor' });
}

/** Calls `collect` each time another `everyBytes` have been relayed; give it every chunk's size. */
export function garbagePacer(everyBytes: number, collect: () => void): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collect();
  };
}

/** A figure over several runs: its median, and the spread around it. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median, minimum and maximum of `values` (at least one). */
export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('summarize needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, runs: values.length };
}

/**
 * Runs `subject` and `baseline` alternately `runs` times (which goes first alternates too), so
 * drift in the machine's load hits both alike; returns both series and the per-pair ratios.
 */
export async function interleaved(
  runs: number,
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ subject: number[]; baseline: number[]; ratio: number[] }> {
  const out = { subject: [] as number[], baseline: [] as number[], ratio: [] as number[] };
  for (let i = 0; i < runs; i++) {
    let s: number;
    let b: number;
    if (i % 2 === 0) {
      s = await subject();
      b = await baseline();
    } else {
      b = await baseline();
      s = await subject();
    }
    out.subject.push(s);
    out.baseline.push(b);
    out.ratio.push(s / b);
  }
  return out;
}

/** One row of the table (and of `bench/results.json`). */
export interface Figure {
  section: string;
  name: string;
  unit: string;
  value: Summary;
  /** What the figure is held to, as text (`≤ 1.25`), and whether it is met; absent: informational. */
  target?: string;
  met?: boolean;
  note?: string;
  /** The same every run (a build's size, a count): measured once. */
  exact?: boolean;
}

/** A figure with a target of at most `limit`. */
export function atMost(figure: Omit<Figure, 'target' | 'met'>, limit: number, label = `≤ ${limit}`): Figure {
  return { ...figure, target: label, met: figure.value.median <= limit };
}

/** A figure with a target of at least `limit`. */
export function atLeast(figure: Omit<Figure, 'target' | 'met'>, limit: number, label = `≥ ${limit}`): Figure {
  return { ...figure, target: label, met: figure.value.median >= limit };
}

/** A single measurement as a summary of one run. */
export const once = (value: number): Summary => summarize([value]);

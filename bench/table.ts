import type { Figure } from './stats.ts';

const number = (n: number, unit: string) => {
  if (unit === 'calls' || unit === 'launches') return n.toFixed(n % 1 ? 1 : 0);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
};

/** The figures as a fixed-width table, one block per section, verdicts in the last column. */
export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const { median, min, max, runs } = f.value;
    const spread = runs > 1 ? `${number(min, f.unit)}–${number(max, f.unit)}` : f.exact ? '(exact)' : '(1 run)';
    const verdict = f.met === undefined ? '' : f.met ? 'met' : 'NOT MET';
    return {
      f,
      cells: [`  ${f.name}`, `${number(median, f.unit)} ${f.unit}`.trim(), spread, f.target ?? '—', verdict],
    };
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r.cells[i] as string).length), 8));
  const lines: string[] = [];
  let section = '';
  for (const { f, cells } of rows) {
    if (f.section !== section) {
      section = f.section;
      lines.push(section);
    }
    const [name, median, spread, target, verdict] = cells as [string, string, string, string, string];
    const note = f.note ? `  (${f.note})` : '';
    lines.push(
      `${name.padEnd(widths[0] as number)}  ${median.padStart(widths[1] as number)}  ${spread.padEnd(widths[2] as number)}  ${target.padEnd(widths[3] as number)}  ${verdict.padEnd(7)}${note}`.trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

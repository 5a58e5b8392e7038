import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** `shared/<area>` for files in an area folder, the file itself for `shared/*.ts`, else `<top>/<next>`. */
function areaOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'shared') return parts.length > 2 ? `shared/${parts[1]}` : path;
  return parts.slice(0, 2).join('/');
}

/** Value imports between areas (type-only imports are erased and cannot form a load cycle). */
function areaGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  const files = ['shared', 'functions', 'infra'].flatMap((d) => sourceFiles(join(ROOT, d)));
  for (const file of files) {
    const from = relative(ROOT, file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(
      /^(import|export)(?!\s+type\b)[^;]*?from\s+'#(shared|infra|functions)\/([^']+)'/gms,
    )) {
      const a = areaOf(from);
      const b = areaOf(`${match[2]}/${match[3]}`);
      if (a === b) continue;
      const edges = graph.get(a) ?? new Map<string, string>();
      if (!edges.has(b)) edges.set(b, `${from} imports #${match[2]}/${match[3]}`);
      graph.set(a, edges);
    }
  }
  return graph;
}

/** Strongly connected components with more than one area (Tarjan). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop() as string;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The fenced block of README's "Layout" section. */
function readmeLayout(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Layout'));
  return section?.split('```')[1] ?? '';
}

describe('structure', () => {
  it('has no import cycle between areas', () => {
    const graph = areaGraph();
    const found = cycles(graph).map((component) => ({
      areas: component,
      edges: component.flatMap((a) =>
        component.filter((b) => graph.get(a)?.has(b)).map((b) => graph.get(a)?.get(b) as string),
      ),
    }));
    expect(found).toEqual([]);
  });

  it('finds a cycle when one exists (the check can fail)', () => {
    const graph = new Map([
      ['shared/a', new Map([['shared/b', 'x']])],
      ['shared/b', new Map([['shared/a', 'y']])],
      ['shared/c', new Map([['shared/a', 'z']])],
    ]);
    expect(cycles(graph)).toEqual([['shared/a', 'shared/b']]);
  });

  it("names every folder of shared/ and every top-level folder in README's layout, and nothing that is gone", () => {
    const layout = readmeLayout();
    const named = [...layout.matchAll(/^\s*([\w-]+)\/(?=[\s,])/gm)].map((m) => m[1] as string);
    const alsoNamed = [...layout.matchAll(/,\s*([\w-]+)\/\s/g)].map((m) => m[1] as string);
    const listed = new Set([...named, ...alsoNamed]);
    const folders = (dir: string) =>
      readdirSync(join(ROOT, dir)).filter((name) => statSync(join(ROOT, dir, name)).isDirectory());
    const expected = [
      ...['functions', 'shared', 'infra', 'web', 'docs', 'test', 'bench'],
      ...folders('shared'),
      'local',
    ];
    expect(expected.filter((name) => !listed.has(name))).toEqual([]);
    const known = new Set([...expected, ...folders('infra'), ...folders('test'), ...folders('web')]);
    expect([...listed].filter((name) => !known.has(name))).toEqual([]);
  });
});

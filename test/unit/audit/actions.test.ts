import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '#shared/audit/actions.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('audit action names', () => {
  it('are unique, dotted lower-case names', () => {
    expect(new Set(AUDIT_ACTIONS).size).toBe(AUDIT_ACTIONS.length);
    for (const action of AUDIT_ACTIONS) expect(action).toMatch(/^[a-z_]+\.[a-z_]+$/);
  });

  it('cover every action the code records', () => {
    const recorded = new Set<string>();
    for (const file of [...sources('shared'), ...sources('functions'), ...sources('infra')]) {
      const text = readFileSync(file, 'utf8');
      for (const call of text.matchAll(/audit\(\{[^}]*?action:\s*'([a-z_.]+)'/gs)) recorded.add(call[1] ?? '');
    }
    expect(recorded.size).toBeGreaterThan(5);
    expect([...recorded].filter((a) => !(AUDIT_ACTIONS as readonly string[]).includes(a))).toEqual([]);
  });

  it('are all listed in docs/API.md', () => {
    const doc = readFileSync('docs/API.md', 'utf8');
    expect(AUDIT_ACTIONS.filter((action) => !doc.includes(`\`${action}\``))).toEqual([]);
  });
});

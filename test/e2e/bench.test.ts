import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run bench', () => {
  it('regression: prints a short header and the table, without hundreds of log lines before it', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      encoding: 'utf8',
      env: { ...process.env, BENCH_N: '20', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      timeout: 120_000,
    });
    expect(out.status).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toBe('');
    expect(lines[1]).toMatch(
      /^Keyfleet bench — 20 operations each, node v\d+\.\d+\.\d+, embedded endpoints on loopback$/,
    );
    expect(lines[2]).toBe('');
    const table = lines.slice(3).filter(Boolean);
    expect(table.map((line) => line.replace(/\s+\d+ ops\/s\s+×\d+\.\d\d$/, ''))).toEqual([
      'baseline: GetItem (1 account item), sequential',
      'resolveAccount, round-robin pool of 3, sequential',
      'resolveAccount, round-robin pool of 3, 32 concurrent',
      'cursor ADD only, 32 concurrent',
      'vault read (GetSecretValue), sequential',
      'launch (resolve, ticket, run, audit), 20 sequential',
      'ticket redemption + CLI profile, 20 sequential',
    ]);
    expect(out.stderr).not.toMatch(/"level":/);
  });
});

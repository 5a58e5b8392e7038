import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeWorkstationFiles } from '#shared/operator/sync.ts';
import { confinedTarget, OutsideHomeError, writeConfined } from '#shared/profiles/confine.ts';

const freshHome = () => realpathSync(mkdtempSync(join(tmpdir(), 'kf-confine-')));

describe('confinedTarget', () => {
  it('places a relative path under the home directory, also a file directly in it', async () => {
    const home = freshHome();
    expect(await confinedTarget(home, '.codex/auth.json')).toBe(join(home, '.codex/auth.json'));
    expect(await confinedTarget(home, '.claude.json')).toBe(join(home, '.claude.json'));
    expect(await confinedTarget(home, 'a/../b.json')).toBe(join(home, 'b.json'));
  });

  it.each(['../x', '/etc/passwd', '..', '.', 'a/../../x', ''])('refuses %j', async (path) => {
    await expect(confinedTarget(freshHome(), path)).rejects.toThrow(OutsideHomeError);
  });

  it('refuses a folder on the way that is a symbolic link out of the home', async () => {
    const home = freshHome();
    const outside = freshHome();
    symlinkSync(outside, join(home, '.codex'));
    await expect(confinedTarget(home, '.codex/sub/auth.json')).rejects.toThrow(
      'refusing to write outside the home directory: .codex/sub/auth.json',
    );
  });
});

describe('writeConfined', () => {
  it('writes the file 0600 and its new folders 0700', async () => {
    const home = freshHome();
    const target = await confinedTarget(home, '.gemini/settings.json');
    await writeConfined(home, target, '.gemini/settings.json', '{}');
    expect(readFileSync(target, 'utf8')).toBe('{}');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.gemini')).mode & 0o777).toBe(0o700);
  });

  it('refuses a folder swapped for a link after the check, and writes nothing outside', async () => {
    const home = freshHome();
    const outside = freshHome();
    const target = await confinedTarget(home, '.codex/auth.json');
    symlinkSync(outside, join(home, '.codex'));
    await expect(writeConfined(home, target, '.codex/auth.json', 'x')).rejects.toThrow(OutsideHomeError);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('does not follow a symbolic link in the file’s place', async () => {
    const home = freshHome();
    const outside = freshHome();
    mkdirSync(join(home, '.codex'));
    symlinkSync(join(outside, 'victim'), join(home, '.codex/auth.json'));
    const target = await confinedTarget(home, '.codex/auth.json');
    await expect(writeConfined(home, target, '.codex/auth.json', 'x')).rejects.toThrow(OutsideHomeError);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('writeWorkstationFiles', () => {
  it('regression: keyfleet sync writes a profile file that sits directly in the home directory', async () => {
    const home = freshHome();
    const written = await writeWorkstationFiles(home, [{ path: '.claude.json', mode: 0o600, content: '{"a":1}\n' }], {
      now: Date.parse('2026-11-22T15:01:02Z'),
      dryRun: false,
    });
    expect(written).toEqual([{ path: join(home, '.claude.json'), backup: null, unchanged: false }]);
    expect(readFileSync(join(home, '.claude.json'), 'utf8')).toBe('{"a":1}\n');
  });

  it('checks every path before writing any, so one bad entry leaves the home untouched', async () => {
    const home = freshHome();
    const files = [
      { path: '.codex/config.toml', mode: 0o600, content: 'x' },
      { path: '../escape', mode: 0o600, content: 'y' },
    ];
    await expect(writeWorkstationFiles(home, files, { now: 0, dryRun: false })).rejects.toThrow(OutsideHomeError);
    expect(readdirSync(home)).toEqual([]);
  });
});

import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeProfileFiles } from '#shared/cli/exec.ts';

let root: string;
let home: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kf-profile-'));
  home = join(root, 'home');
  outside = join(root, 'outside');
  await mkdir(home, { mode: 0o700 });
  await mkdir(outside);
});
afterEach(() => rm(root, { recursive: true, force: true }));

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** Every file and folder under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('writeProfileFiles', () => {
  it('writes nested files under home, files 0600 and the folders it creates 0700', async () => {
    await writeProfileFiles(home, [
      { path: '.claude/.credentials.json', mode: 0o600, content: '{"a":1}' },
      { path: '.config/gcloud/deep/file.json', mode: 0o600, content: 'deep' },
      { path: 'top.txt', mode: 0o600, content: 'top' },
    ]);
    expect(await tree(home)).toEqual([
      '.claude',
      '.claude/.credentials.json',
      '.config',
      '.config/gcloud',
      '.config/gcloud/deep',
      '.config/gcloud/deep/file.json',
      'top.txt',
    ]);
    expect(await readFile(join(home, '.claude/.credentials.json'), 'utf8')).toBe('{"a":1}');
    expect(await readFile(join(home, '.config/gcloud/deep/file.json'), 'utf8')).toBe('deep');
    for (const file of ['.claude/.credentials.json', '.config/gcloud/deep/file.json', 'top.txt']) {
      expect(await mode(join(home, file))).toBe(0o600);
    }
    for (const dir of ['.claude', '.config', '.config/gcloud', '.config/gcloud/deep']) {
      expect(await mode(join(home, dir))).toBe(0o700);
    }
  });

  it('tightens an existing file to 0600 and replaces its content, whatever mode the entry names', async () => {
    await writeFile(join(home, 'auth.json'), 'old', { mode: 0o644 });
    await writeProfileFiles(home, [{ path: 'auth.json', mode: 0o644, content: 'new' }]);
    expect(await readFile(join(home, 'auth.json'), 'utf8')).toBe('new');
    expect(await mode(join(home, 'auth.json'))).toBe(0o600);
  });

  it('keeps a path that goes up and back down inside home', async () => {
    await writeProfileFiles(home, [{ path: '.codex/../.codex/auth.json', mode: 0o600, content: 'x' }]);
    expect(await tree(home)).toEqual(['.codex', '.codex/auth.json']);
  });

  it.each([['../escape.txt'], ['../outside/escape.txt'], ['.claude/../../escape.txt'], ['./../escape.txt'], ['..']])(
    'refuses %s, which leaves home, and writes nothing',
    async (path) => {
      await expect(writeProfileFiles(home, [{ path, mode: 0o600, content: 'x' }])).rejects.toThrow(
        `keyfleet: refusing to write outside the home directory: ${path}`,
      );
      expect(await tree(root)).toEqual(['home', 'outside']);
    },
  );

  it.each([['/tmp/kf-absolute-escape.txt'], ['/etc/passwd']])(
    'refuses the absolute path %s and writes nothing',
    async (path) => {
      await expect(writeProfileFiles(home, [{ path, mode: 0o600, content: 'x' }])).rejects.toThrow(
        `keyfleet: refusing to write outside the home directory: ${path}`,
      );
      await expect(lstat('/tmp/kf-absolute-escape.txt')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await tree(home)).toEqual([]);
    },
  );

  it('stops at the first refused entry: earlier entries are written, later ones are not', async () => {
    await expect(
      writeProfileFiles(home, [
        { path: 'first.txt', mode: 0o600, content: '1' },
        { path: '../escape.txt', mode: 0o600, content: 'x' },
        { path: 'third.txt', mode: 0o600, content: '3' },
      ]),
    ).rejects.toThrow('refusing to write outside the home directory');
    expect(await tree(root)).toEqual(['home', 'home/first.txt', 'outside']);
  });

  // The guard used to check the path's text only, so a folder in home that is a symbolic link to
  // elsewhere carried the write out of home.
  it('regression: refuses a path through a folder that is a symbolic link out of home', async () => {
    await symlink(outside, join(home, '.claude'));
    await expect(
      writeProfileFiles(home, [{ path: '.claude/.credentials.json', mode: 0o600, content: 'secret' }]),
    ).rejects.toThrow('refusing to write outside the home directory');
    expect(await readdir(outside)).toEqual([]);
  });

  it('regression: creates no folder outside home on the way to refusing a path through a linked folder', async () => {
    await symlink(outside, join(home, '.claude'));
    await expect(
      writeProfileFiles(home, [{ path: '.claude/sub/deeper/x.json', mode: 0o600, content: 'secret' }]),
    ).rejects.toThrow('refusing to write outside the home directory');
    expect(await readdir(outside)).toEqual([]);
  });

  it('accepts a name that only begins with two dots', async () => {
    await writeProfileFiles(home, [{ path: '..config/x.json', mode: 0o600, content: 'ok' }]);
    expect(await readFile(join(home, '..config', 'x.json'), 'utf8')).toBe('ok');
  });

  // Same bug: a file in home that was a symbolic link was written through, to its target.
  it('regression: refuses to write through a file that is a symbolic link out of home', async () => {
    await writeFile(join(outside, 'target.txt'), 'untouched');
    await symlink(join(outside, 'target.txt'), join(home, 'auth.json'));
    await expect(writeProfileFiles(home, [{ path: 'auth.json', mode: 0o600, content: 'secret' }])).rejects.toThrow(
      'refusing to write outside the home directory',
    );
    expect(await readFile(join(outside, 'target.txt'), 'utf8')).toBe('untouched');
  });
});

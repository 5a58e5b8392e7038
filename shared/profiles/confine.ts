import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';

/** A profile file path that would land outside the home directory it is written under. */
export class OutsideHomeError extends Error {
  constructor(path: string) {
    super(`refusing to write outside the home directory: ${path}`);
    this.name = 'OutsideHomeError';
  }
}

/** True when `path` is `root` or inside it. */
export const within = (root: string, path: string): boolean => path === root || path.startsWith(`${root}${sep}`);

/** The real path of `path`'s deepest folder that exists (symbolic links resolved). */
async function deepestExisting(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return await realpath(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
    }
  }
}

/**
 * Where profile file `path` lands under `realHome` (a real path, links resolved), refusing an
 * absolute path, a `..` way out, and a folder on the way that is a symbolic link leading out of
 * the home. Creates nothing.
 */
export async function confinedTarget(realHome: string, path: string): Promise<string> {
  const relative = normalize(path);
  if (isAbsolute(relative) || relative === '..' || relative.startsWith(`..${sep}`)) throw new OutsideHomeError(path);
  const target = resolve(realHome, relative);
  if (target === realHome || !within(realHome, target)) throw new OutsideHomeError(path);
  if (!within(realHome, await deepestExisting(dirname(target)))) throw new OutsideHomeError(path);
  return target;
}

/**
 * Creates `target`'s folders (0700), checks again where they really lead (a link may have
 * appeared since {@link confinedTarget}), and opens the file for writing (0600, truncated)
 * without following a symbolic link in its place.
 */
export async function openConfined(realHome: string, target: string, path: string): Promise<FileHandle> {
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const folder = await realpath(dirname(target));
  if (!within(realHome, folder)) throw new OutsideHomeError(path);
  try {
    return await open(
      join(folder, basename(target)),
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new OutsideHomeError(path);
    throw error;
  }
}

/** Writes `content` to `target` through {@link openConfined}, mode 0600 even over an older file. */
export async function writeConfined(realHome: string, target: string, path: string, content: string): Promise<void> {
  const handle = await openConfined(realHome, target, path);
  try {
    await handle.writeFile(content);
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

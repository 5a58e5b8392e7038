import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildConsole } from './build.ts';
import { ASSET_FILES } from './serve.ts';

/** Builds the console and writes its files into `dir` (the Lambda bundle's `console/` folder). */
export async function writeConsole(dir: string): Promise<number> {
  const { assets, gzipBytes } = await buildConsole();
  await mkdir(dir, { recursive: true });
  for (const [path, file] of Object.entries(ASSET_FILES)) {
    const asset = assets.get(path);
    if (!asset) throw new Error(`console build has no ${path}`);
    await writeFile(join(dir, file), asset.body);
  }
  return gzipBytes;
}

// `tsx web/write.ts <dir>`: the CDK bundling hook of infra/constructs/console.ts runs this.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: tsx web/write.ts <output directory>');
  const bytes = await writeConsole(resolve(dir));
  process.stdout.write(`console written to ${dir} (${(bytes / 1024).toFixed(1)} KB gzipped)\n`);
}

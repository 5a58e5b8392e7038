import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const WEB = dirname(fileURLToPath(import.meta.url));

/** One file the console is made of, ready to serve. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

/** The console's files by URL path (`/`, `/console/app.js`, `/console/app.css`). */
export interface ConsoleBundle {
  assets: Map<string, ConsoleAsset>;
  /** Gzipped size of everything served, in bytes (the budget is 100 KB). */
  gzipBytes: number;
}

/**
 * Bundles the console with esbuild's in-process API (Preact, minified, one ES module) and reads
 * the static page and style sheet beside it. Nothing is written to disk.
 */
export async function buildConsole(): Promise<ConsoleBundle> {
  const out = await build({
    entryPoints: [join(WEB, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    write: false,
    outfile: 'app.js',
    logLevel: 'silent',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!js) throw new Error('console build produced no JavaScript');
  const assets = new Map<string, ConsoleAsset>([
    ['/', { body: await readFile(join(WEB, 'index.html')), contentType: 'text/html; charset=utf-8' }],
    ['/console/app.js', { body: Buffer.from(js.contents), contentType: 'text/javascript; charset=utf-8' }],
    ['/console/app.css', { body: await readFile(join(WEB, 'console.css')), contentType: 'text/css; charset=utf-8' }],
  ]);
  let gzipBytes = 0;
  for (const asset of assets.values()) gzipBytes += gzipSync(asset.body, { level: 9 }).byteLength;
  return { assets, gzipBytes };
}

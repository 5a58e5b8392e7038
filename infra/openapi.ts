import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localFunctions } from '#infra/local/functions.ts';
import { openApiDocument } from '#shared/http/openapi.ts';

/**
 * `npm run openapi`: writes `docs/openapi.json` from the route table every function serves (the
 * same table API Gateway and local mode use). `--check` exits 1 when the committed file differs.
 */
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const target = join(root, 'docs', 'openapi.json');

/** The document as `npm run openapi` writes it: two-space JSON with a final newline. */
export function generatedOpenApi(): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return `${JSON.stringify(
    openApiDocument(
      localFunctions.flatMap((fn) => fn.routes),
      version,
    ),
    null,
    2,
  )}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generatedOpenApi();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(target, 'utf8');
    if (committed !== text) {
      process.stderr.write('docs/openapi.json differs from the code: run npm run openapi\n');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote docs/openapi.json (${Object.keys(JSON.parse(text).paths).length} paths)\n`);
  }
}

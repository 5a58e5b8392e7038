import { readFile } from 'node:fs/promises';
import type { Route } from '#shared/http/types.ts';

/**
 * Files a function serves beside its bundle, by their name there → their path in the repository:
 * the stack copies them into the function's asset when it bundles it (`KeyfleetFunction` `files`).
 */
export const REFERENCE_FILES: Readonly<Record<string, string>> = { 'openapi.json': 'docs/openapi.json' };

/**
 * Where the document is read from: beside a deployed bundle (copied there at build time), else in
 * the source tree (local mode and tests run this file itself). It is read on the first request,
 * not bundled: 80 KB of JSON would be parsed at every cold start of the function for a route
 * hardly anyone calls.
 */
const LOCATIONS = [new URL('./openapi.json', import.meta.url), new URL('../../docs/openapi.json', import.meta.url)];

let loaded: Promise<unknown> | undefined;

async function readDocument(): Promise<unknown> {
  for (const location of LOCATIONS) {
    try {
      return JSON.parse(await readFile(location, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error('the OpenAPI document (openapi.json) is neither beside the bundle nor in docs/');
}

/** The committed `docs/openapi.json`, read once per process (a failed read is tried again next time). */
export function apiDocument(): Promise<unknown> {
  loaded ??= readDocument().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

/**
 * `GET /v1/openapi.json`: the API reference, public like any published API document. It is the
 * committed `docs/openapi.json`, which a test keeps equal to what `npm run openapi` generates from
 * the route table, so the served document and the code cannot drift apart.
 */
export const referenceRoute: Route = {
  method: 'GET',
  path: '/v1/openapi.json',
  access: 'public',
  contract: {
    summary: 'The OpenAPI 3.1 document of this API',
    tag: 'reference',
    responses: { 200: { description: 'The OpenAPI document' } },
  },
  handler: async () => ({ status: 200, body: await apiDocument() }),
};

import { readFileSync } from 'node:fs';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localFunctions } from '#infra/local/functions.ts';
import { generatedOpenApi } from '#infra/openapi.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';

/** The API reference: generated from the route table, committed, served, and complete. */

const committed = readFileSync('docs/openapi.json', 'utf8');
const document = JSON.parse(committed) as {
  paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
};
const routes = localFunctions.flatMap((fn) => fn.routes);

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api.stop());

describe('the OpenAPI document', () => {
  it('is what the code generates (run npm run openapi after changing a route or a schema)', () => {
    expect(committed).toBe(generatedOpenApi());
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(JSON.parse(committed));
    expect(result).toMatchObject({ valid: true, warnings: [] });
  });

  it('covers every route the server answers, each with its own contract', () => {
    const missing = routes.filter((r) => !r.contract).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(Object.keys(operation?.responses ?? {}).length).toBeGreaterThan(1);
    }
    const documented = Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(documented).toBe(routes.length);
  });

  it('states who may call each route', () => {
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as Record<string, unknown>;
      expect(operation['x-keyfleet-access'], `${route.method} ${route.path}`).toBe(route.access);
    }
  });

  it('is served at GET /v1/openapi.json without authentication', async () => {
    const response = await fetch(`${api.base}/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual(JSON.parse(committed));
  });
});

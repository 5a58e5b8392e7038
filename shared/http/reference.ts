import type { Route } from '#shared/http/types.ts';
import document from '../../docs/openapi.json' with { type: 'json' };

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
  handler: async () => ({ status: 200, body: document }),
};

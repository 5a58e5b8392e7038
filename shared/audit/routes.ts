import * as z from 'zod/mini';
import { listAudit } from '#shared/audit/audit.ts';
import type { Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { pageQueryFields } from '#shared/store/cursor.ts';

const auditQuery = z.strictObject(pageQueryFields);

/** `GET /v1/audit` (admin): served by `functions/accounts.ts`. */
export const auditRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/audit',
    access: 'admin',
    contract: {
      summary: 'Audit events, newest first; before= takes a previous next value or an ISO time',
      tag: 'audit',
      query: auditQuery,
      responses: { 200: { description: 'One page of events', schema: wire.page('events', wire.auditEvent) } },
    },
    handler: async (request) => {
      const query = parseInput(auditQuery, request.query, 'query');
      return { status: 200, body: await listAudit(query.limit ?? 50, query.before) };
    },
  },
];

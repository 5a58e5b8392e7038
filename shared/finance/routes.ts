import * as z from 'zod/mini';
import { audit } from '#shared/audit/audit.ts';
import { financeChanges, getFinanceRecord, listFinanceRecords, updateFinanceRecord } from '#shared/finance/finance.ts';
import type { Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { getProvider } from '#shared/providers/index.ts';

/** Trimmed text of 1 to `max` characters, or null to clear the field. */
const clearable = (max: number) => z.optional(z.nullable(z.string().check(z.trim(), z.minLength(1), z.maxLength(max))));

const financeBody = z
  .strictObject({
    billing: z.optional(z.enum(['subscription', 'usage', 'none'])),
    status: z.optional(z.enum(['incomplete', 'complete'])),
    plan: clearable(100),
    monthlyBudgetUsd: z.optional(z.nullable(z.number().check(z.gte(0), z.lte(10_000_000)))),
    costCenter: clearable(100),
    owner: clearable(200),
  })
  .check(z.refine((b) => Object.values(b).some((v) => v !== undefined), 'must change at least one field'));

/** `GET /v1/finance` and `PATCH /v1/finance/{provider}` (admin): served by `functions/accounts.ts`. */
export const financeRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/finance',
    access: 'admin',
    contract: {
      summary: 'Finance records, one per provider that has had an account',
      tag: 'finance',
      responses: {
        200: { description: 'The records', schema: z.strictObject({ records: z.array(wire.financeRecord) }) },
      },
    },
    handler: async () => ({ status: 200, body: { records: await listFinanceRecords() } }),
  },
  {
    method: 'PATCH',
    path: '/v1/finance/{provider}',
    access: 'admin',
    contract: {
      summary: 'Change a provider’s finance record (partial; null clears a field)',
      tag: 'finance',
      body: financeBody,
      responses: {
        200: { description: 'The record as stored', schema: z.strictObject({ record: wire.financeRecord }) },
      },
    },
    handler: async (request) => {
      const provider = getProvider(request.params.provider ?? '');
      const body = parseInput(financeBody, request.body, 'body');
      const current = await getFinanceRecord(provider.id);
      const changed = financeChanges(current, body);
      if (current && Object.keys(changed).length === 0) return { status: 200, body: { record: current } };
      const record = await updateFinanceRecord(provider.id, changed);
      await audit({ actor: callerOf(request).id, action: 'finance.changed', provider: provider.id, detail: changed });
      return { status: 200, body: { record } };
    },
  },
];

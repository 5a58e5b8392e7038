import * as z from 'zod';
import { audit } from '#shared/audit/audit.ts';
import { financeChanges, getFinanceRecord, listFinanceRecords, updateFinanceRecord } from '#shared/finance/finance.ts';
import type { Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { getProvider } from '#shared/providers/index.ts';

const financeBody = z
  .strictObject({
    billing: z.enum(['subscription', 'usage', 'none']).optional(),
    status: z.enum(['incomplete', 'complete']).optional(),
    plan: z.string().trim().min(1).max(100).nullable().optional(),
    monthlyBudgetUsd: z.number().min(0).max(10_000_000).nullable().optional(),
    costCenter: z.string().trim().min(1).max(100).nullable().optional(),
    owner: z.string().trim().min(1).max(200).nullable().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'must change at least one field');

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

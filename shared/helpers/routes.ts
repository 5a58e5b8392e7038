import * as z from 'zod/mini';
import { commitMessage, taskName } from '#shared/helpers/helpers.ts';
import { referenceRoute } from '#shared/http/reference.ts';
import type { Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';

const taskNameBody = z.strictObject({ instructions: z.string().check(z.trim(), z.minLength(1, 'must not be empty')) });
const commitBody = z.strictObject({ diff: z.string().check(z.minLength(1, 'must not be empty')) });

const HELPER_ERRORS = [409, 502];

/** Routes served by `functions/helpers.ts` (and the API reference, which needs no function of its own). */
export const helperRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/helpers/task-name',
    access: 'member',
    contract: {
      summary: "A short task name from the instructions, by the default agent's API-key account",
      tag: 'helpers',
      body: taskNameBody,
      responses: { 200: { description: 'The name', schema: z.strictObject({ name: z.string() }) } },
      errors: HELPER_ERRORS,
    },
    handler: async (request) => {
      const { instructions } = parseInput(taskNameBody, request.body, 'body');
      return { status: 200, body: { name: await taskName(instructions) } };
    },
  },
  {
    method: 'POST',
    path: '/v1/helpers/commit-message',
    access: 'member',
    contract: {
      summary: "A commit message for the diff, by the default agent's API-key account",
      tag: 'helpers',
      body: commitBody,
      responses: { 200: { description: 'The message', schema: z.strictObject({ message: z.string() }) } },
      errors: HELPER_ERRORS,
    },
    handler: async (request) => {
      const { diff } = parseInput(commitBody, request.body, 'body');
      return { status: 200, body: { message: await commitMessage(diff) } };
    },
  },
  referenceRoute,
];

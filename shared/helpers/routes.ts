import { z } from 'zod';
import { commitMessage, taskName } from '#shared/helpers/helpers.ts';
import type { Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';

const taskNameBody = z.strictObject({ instructions: z.string().trim().min(1, 'must not be empty') });
const commitBody = z.strictObject({ diff: z.string().min(1, 'must not be empty') });

/** Routes served by `functions/helpers.ts`. */
export const helperRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/helpers/task-name',
    access: 'member',
    handler: async (request) => {
      const { instructions } = parseInput(taskNameBody, request.body, 'body');
      return { status: 200, body: { name: await taskName(instructions) } };
    },
  },
  {
    method: 'POST',
    path: '/v1/helpers/commit-message',
    access: 'member',
    handler: async (request) => {
      const { diff } = parseInput(commitBody, request.body, 'body');
      return { status: 200, body: { message: await commitMessage(diff) } };
    },
  },
];

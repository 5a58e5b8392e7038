import type { z } from 'zod';
import { type ErrorDetail, ValidationError } from '#shared/errors.ts';

/**
 * Parses `value` with `schema`; on failure throws `validation_failed` with one detail per problem.
 * Details name the field and the rule, never echo the rejected value (it may be a key).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError(`Invalid ${where}: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
}

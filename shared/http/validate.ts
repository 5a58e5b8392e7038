import type * as z from 'zod/mini';
import { type ErrorDetail, printable, ValidationError } from '#shared/errors.ts';

/** Longest key name a validation error repeats; longer ones are cut (a key may be anything, even a token). */
const MAX_KEY_CHARS = 40;
/** Unknown keys named in one message; the rest are counted. */
const MAX_KEYS_NAMED = 5;

/** A caller-supplied key as a path segment or in a message: printable and short. */
function keyText(key: PropertyKey): string {
  return printable(String(key), MAX_KEY_CHARS);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const named = issue.keys.slice(0, MAX_KEYS_NAMED).map((k) => `"${keyText(k)}"`);
  const more = issue.keys.length - named.length;
  return `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * Parses `value` with `schema`; on failure throws `validation_failed` with one detail per problem.
 * Details name the field and the rule, never echo the rejected value (it may be a key). Field names
 * come from the caller too (record keys, unknown keys), so they are made printable and cut short.
 */
export function parseInput<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(keyText)].join('.'),
    message: issueMessage(issue),
  }));
  throw new ValidationError(`Invalid ${where}: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
}

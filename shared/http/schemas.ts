import * as z from 'zod/mini';

/** Shared input rules. Messages name the rule, never the rejected value. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const label = z.pipe(
  z.string().check(
    z.maxLength(100, 'must be at most 100 characters'),
    z.refine((s) => !CONTROL.test(s), 'must not contain control characters'),
    z.refine((s) => s.trim().length > 0, 'must not be empty'),
  ),
  z.transform((s: string) => s.trim()),
);

export const apiKey = z.string().check(
  z.minLength(8, 'must be at least 8 characters'),
  z.maxLength(4096, 'must be at most 4096 characters'),
  z.refine((s) => !/\s/.test(s) && !CONTROL.test(s), 'must not contain spaces or control characters'),
);

export const endpoint = z.strictObject({
  type: z.enum(['default', 'responses_hosted', 'responses_local', 'azure', 'custom']),
  baseUrl: z.optional(z.string().check(z.maxLength(2048))),
  apiVersion: z.optional(z.nullable(z.string().check(z.maxLength(40)))),
});

/** A model id as providers spell them (`claude-sonnet-5-5`, `gpt-5-codex`, `models/gemini-2.5-pro`). */
export const modelId = z
  .string()
  .check(
    z.trim(),
    z.minLength(1),
    z.maxLength(200),
    z.regex(/^[A-Za-z0-9._:/@-]+$/, 'must be a model id (letters, digits and ._:/@-)'),
  );

/** An effort level; which ones a provider accepts is checked against the provider. */
export const effortLevel = z.string().check(z.minLength(1), z.maxLength(20));

/** What an account id looks like: `acc_` and 20 lowercase hex digits. */
export const ACCOUNT_ID = /^acc_[a-f0-9]{20}$/;

/** An account id, in a path, a body or an invocation: the one schema for it. */
export const accountIdParam = z.string().check(z.regex(ACCOUNT_ID));
export const signInIdParam = z.string().check(z.regex(/^si_[A-Za-z0-9_-]{43}$/));

/** A body that may be absent: `undefined` counts as `{}`. */
export function optionalBody(value: unknown): unknown {
  return value === undefined ? {} : value;
}

import * as z from 'zod';

/** Shared input rules. Messages name the rule, never the rejected value. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const label = z
  .string()
  .max(100, 'must be at most 100 characters')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => s.trim().length > 0, 'must not be empty')
  .transform((s) => s.trim());

export const apiKey = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(4096, 'must be at most 4096 characters')
  .refine((s) => !/\s/.test(s) && !CONTROL.test(s), 'must not contain spaces or control characters');

export const endpoint = z.strictObject({
  type: z.enum(['default', 'responses_hosted', 'responses_local', 'azure', 'custom']),
  baseUrl: z.string().max(2048).optional(),
  apiVersion: z.string().max(40).nullable().optional(),
});

/** A model id as providers spell them (`claude-sonnet-5-5`, `gpt-5-codex`, `models/gemini-2.5-pro`). */
export const modelId = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/@-]+$/, 'must be a model id (letters, digits and ._:/@-)');

/** An effort level; which ones a provider accepts is checked against the provider. */
export const effortLevel = z.string().min(1).max(20);

/** What an account id looks like: `acc_` and 20 lowercase hex digits. */
export const ACCOUNT_ID = /^acc_[a-f0-9]{20}$/;

/** An account id, in a path, a body or an invocation: the one schema for it. */
export const accountIdParam = z.string().regex(ACCOUNT_ID);
export const signInIdParam = z.string().regex(/^si_[A-Za-z0-9_-]{43}$/);

/** A body that may be absent: `undefined` counts as `{}`. */
export function optionalBody(value: unknown): unknown {
  return value === undefined ? {} : value;
}

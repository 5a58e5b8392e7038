/**
 * The error hierarchy. Each class carries the HTTP status and the stable machine code that
 * API.md lists; the HTTP layer turns any KeyfleetError into `{ error: { code, message, details? } }`.
 * Messages are written for the caller: they never contain a token, key or verifier.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

// zod/mini loads no locale, and its bare messages ("Invalid input") would replace the English ones
// validation errors have always carried. Every module that reports a validation problem imports
// this one, so the locale is set before anything is parsed.
config(en());

export interface ErrorDetail {
  path: string;
  message: string;
}

export class KeyfleetError extends Error {
  override readonly name: string = 'KeyfleetError';
  readonly status: number = 500;
  readonly code: string = 'internal';
  readonly details: ErrorDetail[] | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: ErrorDetail[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
  }
}

/** Every code each status can carry, filled as the classes below are defined. */
const codesByStatus = new Map<number, string[]>([[500, ['internal']]]);

/** The error codes of each status, as the classes here define them (the OpenAPI document lists them). */
export function errorCodesByStatus(): ReadonlyMap<number, readonly string[]> {
  return codesByStatus;
}

function errorClass(status: number, code: string, className: string) {
  codesByStatus.set(status, [...(codesByStatus.get(status) ?? []), code]);
  return class extends KeyfleetError {
    override readonly name = className;
    override readonly status = status;
    override readonly code = code;
  };
}

export class BadRequestError extends errorClass(400, 'bad_request', 'BadRequestError') {}
export class ValidationError extends errorClass(400, 'validation_failed', 'ValidationError') {
  constructor(message: string, details: ErrorDetail[], options?: { cause?: unknown }) {
    super(message, { ...options, details });
  }
}
export class UnauthorizedError extends errorClass(401, 'unauthorized', 'UnauthorizedError') {}
export class ForbiddenError extends errorClass(403, 'forbidden', 'ForbiddenError') {}
export class NotFoundError extends errorClass(404, 'not_found', 'NotFoundError') {}
/** What a provider id could look like; anything else (a pasted token, say) is not repeated back. */
const PROVIDER_LIKE = /^[a-z0-9_-]{1,24}$/i;

export class UnknownProviderError extends errorClass(404, 'unknown_provider', 'UnknownProviderError') {
  constructor(providerId: string) {
    const named = PROVIDER_LIKE.test(providerId) ? ` "${providerId}"` : '';
    super(`Unknown provider${named}. Known providers: claude, codex, gemini, bob, grok.`);
  }
}
export class ConflictError extends errorClass(409, 'conflict', 'ConflictError') {}
export class ProviderNotConfiguredError extends errorClass(
  409,
  'provider_not_configured',
  'ProviderNotConfiguredError',
) {}
export class AccountUnusableError extends errorClass(409, 'account_unusable', 'AccountUnusableError') {}
export class SignInExpiredError extends errorClass(410, 'sign_in_expired', 'SignInExpiredError') {}
export class TicketUsedError extends errorClass(410, 'ticket_used', 'TicketUsedError') {}
export class PayloadTooLargeError extends errorClass(413, 'payload_too_large', 'PayloadTooLargeError') {}
export class SignInFailedError extends errorClass(422, 'sign_in_failed', 'SignInFailedError') {}
export class UpstreamError extends errorClass(502, 'upstream_error', 'UpstreamError') {}

/** Configuration that cannot work; thrown at start-up, never mapped to a client response as-is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A conditional write lost: someone else changed the item first. Store-internal; callers translate it. */
export class ConditionFailedError extends Error {
  override readonly name = 'ConditionFailedError';
}

/** Keep caller-supplied text safe to echo in a message: printable, short. */
export function printable(value: string, max = 40): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

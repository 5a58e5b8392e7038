import { KeyfleetError } from '#shared/errors.ts';
import type { ApiResponse } from '#shared/http/types.ts';
import { logger } from '#shared/log/logger.ts';
import { redactText } from '#shared/log/redact.ts';

/**
 * Maps any thrown value to API.md's error body. Keyfleet errors keep their status, code and
 * message (redacted once more, in case a caller-supplied value carried a secret; detail paths too,
 * since record keys come from the caller); anything else
 * is logged and answered with a generic 500 — never a stack trace or an upstream message.
 */
export function errorResponse(error: unknown): ApiResponse {
  if (error instanceof KeyfleetError) {
    if (error.status >= 500) logger.error('request failed', { error, code: error.code, cause: error.cause });
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: redactText(error.message),
          ...(error.details
            ? { details: error.details.map((d) => ({ path: redactText(d.path), message: redactText(d.message) })) }
            : {}),
        },
      },
    };
  }
  logger.error('unhandled error', { error });
  return { status: 500, body: { error: { code: 'internal', message: 'Internal error.' } } };
}

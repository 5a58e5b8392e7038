import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequestError, PayloadTooLargeError } from '#shared/errors.ts';

/** Request bodies above this many bytes are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads the JSON body of a payload v2 event: checks the size cap and the content type, then
 * parses. No body (or an empty one) is `undefined`; the route decides whether it needs one.
 */
export function parseJsonBody(event: APIGatewayProxyEventV2, accept: 'json' | 'json_or_form' = 'json'): unknown {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`Request body is ${bytes.byteLength} bytes; the limit is ${MAX_BODY_BYTES}.`);
  }
  const contentType = headerValue(event.headers, 'content-type') ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  const text = bytes.toString('utf8');
  if (accept === 'json_or_form' && mediaType === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (mediaType !== 'application/json') {
    throw new BadRequestError(
      accept === 'json'
        ? 'Content-Type must be application/json.'
        : 'Content-Type must be application/json or application/x-www-form-urlencoded.',
    );
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('Request body is not valid JSON.');
  }
}

export function headerValue(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

import * as z from 'zod/mini';
import { ValidationError } from '#shared/errors.ts';

/**
 * Opaque, URL-safe page cursors for DynamoDB queries.
 *
 * A cursor is the `LastEvaluatedKey` of a page, serialised as JSON and encoded as base64url
 * (RFC 4648 §5, no padding), so it can be pasted into a query string as it is: no `#`, `+`, `/`,
 * `=` or `%`. Clients must treat it as opaque. Decoding checks the shape strictly, so a tampered or
 * truncated cursor is a `400 validation_failed`, never a query with a key the caller invented.
 */

/** A DynamoDB key as the document client returns it: attribute name → string or number. */
export type CursorKey = Record<string, string | number>;

/** What a decoded cursor must look like to be accepted. */
export interface CursorRules {
  /** The exact set of key attributes (e.g. `['pk', 'sk']`, or a GSI's attributes plus the table's). */
  attributes: readonly string[];
  /** Further checks on the decoded key (e.g. the partition is the one being listed). */
  accept?: (key: CursorKey) => boolean;
  /** Where the cursor came from, for the error detail: `query.before` by default. */
  param?: string;
}

/** Longest cursor accepted; real keys are far shorter. */
export const MAX_CURSOR_LENGTH = 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Encodes a `LastEvaluatedKey` as an opaque base64url cursor. */
export function encodeCursor(key: Record<string, unknown>): string {
  const clean: CursorKey = {};
  for (const [name, value] of Object.entries(key)) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new TypeError(`encodeCursor: key attribute ${name} is neither a string nor a number`);
    }
    clean[name] = value;
  }
  return Buffer.from(JSON.stringify(clean), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} into an `ExclusiveStartKey`. Throws
 * `validation_failed` (naming the parameter, never echoing the value) when it is not base64url,
 * not a JSON object, has other attributes than `rules.attributes`, a value that is not a
 * non-empty string or finite number, or fails `rules.accept`.
 */
export function decodeCursor(cursor: string, rules: CursorRules): CursorKey {
  const key = parse(cursor);
  const names = key ? Object.keys(key).sort() : [];
  const expected = [...rules.attributes].sort();
  const valid =
    key !== undefined &&
    names.length === expected.length &&
    names.every((name, i) => name === expected[i]) &&
    Object.values(key).every(validValue) &&
    (rules.accept?.(key) ?? true);
  if (!valid) {
    const path = rules.param ?? 'query.before';
    throw new ValidationError(`Invalid query: ${path} is not a cursor from a previous page`, [
      { path, message: 'must be the next value of a previous page' },
    ]);
  }
  return key;
}

/** Where a page starts: after a cursor's key, or strictly before a time (ISO-8601, normalised to UTC `Z`). */
export type PageStart = { cursor: CursorKey } | { time: string };

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Reads a `?before=` value: an ISO-8601 time (a date alone means its midnight UTC) or a cursor
 * from {@link encodeCursor}. Anything else is `validation_failed` naming `rules.param`.
 */
export function parseBefore(value: string, rules: CursorRules): PageStart {
  const time = isoTime(value);
  if (time !== undefined) return { time };
  try {
    return { cursor: decodeCursor(value, rules) };
  } catch {
    const path = rules.param ?? 'query.before';
    throw new ValidationError(`Invalid query: ${path} is neither a cursor from a previous page nor a time`, [
      { path, message: 'must be the next value of a previous page or an ISO-8601 time' },
    ]);
  }
}

function isoTime(value: string): string | undefined {
  const match = ISO_TIME.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.parse rolls 2026-02-31 over to March; a calendar date must exist as written.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day || month < 1 || month > 12) return undefined;
  const ms = Date.parse(match[4] ? value : `${value}T00:00:00Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** True when `value` has the alphabet and length of a cursor (a cheap test before decoding). */
export function looksLikeCursor(value: string): boolean {
  return value.length > 0 && value.length <= MAX_CURSOR_LENGTH && BASE64URL.test(value);
}

function parse(cursor: string): CursorKey | undefined {
  if (!looksLikeCursor(cursor)) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  // Node ignores trailing garbage bits; insist the text round-trips so each key has one cursor.
  if (bytes.toString('base64url') !== cursor) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as CursorKey;
}

function validValue(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0 && value.length <= 1024;
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The query parameters every paged listing takes (`GET /v1/audit`, `GET /v1/launches`): `limit`
 * 1–100 and `before` (a previous page's `next`, or an ISO time; `parseBefore` decides which).
 */
export const pageQueryFields = {
  limit: z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d{1,3}$/, 'must be a whole number')), z.transform(Number)),
      z.int().check(z.minimum(1), z.maximum(100)),
    ),
  ),
  before: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_CURSOR_LENGTH))),
};

import { createHash } from 'node:crypto';

/**
 * SHA-256 of a 256-bit random value: enough to store it without keeping it. Tickets, task tokens
 * and grants are stored under (and launches remember) this hash of their value.
 */
export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The `ttl` of an item that expires at `iso`: a day later (expiry is checked against `expiresAt`; TTL deletion lags). */
export const ttlOf = (iso: string): number => Math.ceil(Date.parse(iso) / 1000) + 86_400;

/**
 * When a `Retry-After` value says to try again, as epoch milliseconds: delta-seconds or an HTTP
 * date (RFC 9110 §10.2.3). Undefined when there is none or it cannot be read. The one reader of the
 * header for the refresh, the usage readers and the proxy.
 */
export function retryAfterAt(value: string | readonly string[] | null | undefined, now: number): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return now + Number(raw) * 1000;
  // Every HTTP date form names its month and weekday; without letters, Date.parse would take
  // '-5' or '2026' for a year.
  if (!/[A-Za-z]{3}/.test(raw)) return undefined;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : at;
}

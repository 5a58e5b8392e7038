/**
 * Redaction for anything that may be logged or echoed: by key name (token-like fields) and by
 * value (every secret the process has seen is registered here and scrubbed from any string).
 */

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets whatever they contain. `tokenExpiresAt` and the like stay readable. */
const SECRET_KEY =
  /(^|[_-])(access_?token|refresh_?token|id_?token|task_?token|api_?key|apikey|client_?secret|secret_?string|password|passwd|authorization|cookie|set-cookie|code_?verifier|pkce_?verifier|verifier|ticket|device_?code|x-api-key|x-goog-api-key|secret)$/i;
const CAMEL_SECRET_KEY =
  /(AccessToken|RefreshToken|IdToken|TaskToken|ApiKey|ClientSecret|SecretString|Verifier|Password)$/;

/**
 * Shapes that are credentials wherever they appear: bearer headers, provider key prefixes, and
 * Keyfleet's own — launch tickets (`kfk_`), task tokens (`kft_`) and personal grants (`kfg_`),
 * each the prefix and 32 random bytes in base64url (43 characters).
 */
const SECRET_SHAPES: RegExp[] = [
  /(?<![A-Za-z0-9])kf[gkt]_[A-Za-z0-9_-]{43}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\bsk-(ant-)?[A-Za-z0-9_-]{12,}/g,
  /\bya29\.[A-Za-z0-9._-]{12,}/g,
  /\bAIza[A-Za-z0-9_-]{20,}/g,
];

/** The shapes above, matching a whole value: such a value is scrubbed by shape and needs no registering. */
const WHOLE_SHAPES = SECRET_SHAPES.map((shape) => new RegExp(`^(?:${shape.source})$`));

const MIN_SECRET_LENGTH = 8;
/**
 * How many registered secrets are remembered. A long-lived process (local mode, a warm Lambda)
 * sees new tokens on every refresh; the oldest are forgotten first, and a secret the process
 * handles again (every vault read registers what it read) becomes the newest again.
 */
export const MAX_REGISTERED_SECRETS = 4096;
/** Insertion-ordered, oldest first. */
const registered = new Set<string>();

/** Remember `value` as a secret so it is scrubbed from every later log line and error message. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  if (WHOLE_SHAPES.some((shape) => shape.test(value))) return;
  registered.delete(value);
  registered.add(value);
  if (registered.size > MAX_REGISTERED_SECRETS) registered.delete(registered.values().next().value as string);
}

/** How many secrets are registered now (for tests and the bench). */
export function registeredSecretCount(): number {
  return registered.size;
}

/** For tests: forget registered secrets. */
export function clearRegisteredSecrets(): void {
  registered.clear();
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || CAMEL_SECRET_KEY.test(key);
}

/** Replaces every registered secret and every credential-shaped substring in `text`. */
export function redactText(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const shape of SECRET_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}

/** A `JSON.stringify` replacer applying both rules. */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key && isSecretKey(key) && value !== null && value !== undefined && value !== '') return REDACTED;
  if (typeof value === 'string') return redactText(value);
  return value;
}

/** Deep copy of `value` with secrets removed (for audit details and error causes). */
export function redactDeep<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, redactingReplacer) ?? 'null') as T;
}

/** A failed API call, carrying the API's error code, message and field details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }

  /** The message with each field problem, as one readable sentence list. */
  get full(): string {
    // The API's message often names the problems already; add only what it leaves out.
    const extra = this.details.filter((d) => !this.message.includes(d.message));
    if (!extra.length) return this.message;
    return `${this.message} ${extra.map((d) => `${d.path ? `${d.path}: ` : ''}${d.message}.`).join(' ')}`;
  }
}

let bearer: (() => string | null) | null = null;
let onUnauthorized: (() => void) | null = null;

/** What to do when the API no longer accepts the session (expired, server restarted): sign in again. */
export function whenUnauthorized(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

/**
 * Deployed with JWT sign-in, calls carry the ID token held in memory; locally they carry the
 * session cookie and the console header instead.
 */
export function useBearer(token: (() => string | null) | null): void {
  bearer = token;
}

/** Calls the Keyfleet API and returns the parsed body; throws {@link ApiError} on failure. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-keyfleet-console': '1', accept: 'application/json' };
  const token = bearer?.();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Keyfleet did not answer: is it still running?');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/console/')) onUnauthorized?.();
    const error = (parsed as { error?: { code?: string; message?: string; details?: [] } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${response.status}.`,
      error?.details ?? [],
    );
  }
  return parsed as T;
}

/** Runs an API call and returns the error message instead of throwing (for forms). */
export async function attempt<T>(
  call: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: error instanceof ApiError ? error.full : String(error) };
  }
}

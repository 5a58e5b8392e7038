import * as z from 'zod/mini';
import { SignInFailedError, ValidationError } from '#shared/errors.ts';
import { parseInput } from '#shared/http/validate.ts';
import type { SignInFlow } from '#shared/providers/types.ts';

/** The authorization response a person pasted to complete a browser sign-in. */
export interface PastedCallback {
  code: string;
  state: string;
  /** RFC 9207 issuer, when the redirect carried one. */
  iss: string | null;
}

/** The completion body of the `code` flow (Claude). */
export const codeBody = z.object({ code: z.string().check(z.minLength(3), z.maxLength(4096)) });
/** The completion body of the `redirect_url` flow (Codex, Gemini, Bob). */
export const redirectBody = z.object({ redirectUrl: z.string().check(z.minLength(10), z.maxLength(8192)) });

/** `code#state` as Claude's callback page shows it. */
function parseCodeAndState(value: string): PastedCallback {
  const at = value.trim().lastIndexOf('#');
  const code = value.trim().slice(0, at);
  const state = value.trim().slice(at + 1);
  if (at <= 0 || !state) {
    throw new ValidationError('code must look like "<code>#<state>", as the sign-in page shows it.', [
      { path: 'body.code', message: 'must be "<code>#<state>"' },
    ]);
  }
  return { code, state, iss: null };
}

/** The pasted redirect URL: code and state (or the provider's error). */
function parseRedirect(value: string): PastedCallback {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ValidationError('redirectUrl is not a URL; paste the whole address from the browser.', [
      { path: 'body.redirectUrl', message: 'must be the full redirected URL' },
    ]);
  }
  const providerError = url.searchParams.get('error');
  if (providerError) {
    throw new SignInFailedError(
      `The provider refused the sign-in: ${providerError.replace(/[^\w.-]/g, '').slice(0, 60)}.`,
    );
  }
  const code = url.searchParams.get('code');
  const state = url.searchParams.get('state');
  if (!code || !state) {
    throw new ValidationError('redirectUrl has no code and state; paste the address you were sent back to.', [
      { path: 'body.redirectUrl', message: 'must contain code and state' },
    ]);
  }
  return { code, state, iss: url.searchParams.get('iss') };
}

/**
 * Reads a completion request body for a browser flow (API.md: `{ code: "<code>#<state>" }` for
 * `code`, `{ redirectUrl }` for `redirect_url`): `validation_failed` when it does not fit, and
 * `sign_in_failed` when the pasted URL carries the provider's refusal.
 */
export function pastedCallback(body: unknown, flow: Exclude<SignInFlow, 'device'>): PastedCallback {
  return flow === 'code'
    ? parseCodeAndState(parseInput(codeBody, body ?? {}, 'body').code)
    : parseRedirect(parseInput(redirectBody, body ?? {}, 'body').redirectUrl);
}

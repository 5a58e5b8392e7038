import type { Account } from '#shared/accounts/model.ts';
import { logger } from '#shared/log/logger.ts';
import { type OutboundFailure, outboundFailure, outboundRequest } from '#shared/net/outbound.ts';
import { apiRequest } from '#shared/providers/api.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';

export interface TestResult {
  ok: boolean;
  detail: string;
}

/** The account test's words for each kind of failed call. */
const FAILURE_DETAIL: Record<OutboundFailure, string> = {
  'address not allowed': 'Address not allowed: Keyfleet does not call private, link-local or metadata addresses.',
  'host name not found': 'Host name not found.',
  'could not connect': 'Could not connect.',
  'TLS handshake failed': 'TLS handshake failed.',
  'timed out': 'Timed out.',
  'invalid HTTP response': 'Invalid HTTP response.',
};

/** The account to test, and its key (null for a keyless account). */
export interface AccountProbe {
  provider: ProviderDefinition;
  account: Account;
  apiKey: string | null;
}

/**
 * Tests an API-key or keyless account. API keys must authenticate (2xx); a keyless endpoint only
 * has to answer HTTP at all. The detail is one of a few fixed phrases (an HTTP status, or what kind
 * of failure): never the key, the response body, socket or TLS error text, or an address. What
 * went wrong in detail is logged.
 */
export async function probeAccount({ provider, account, apiKey }: AccountProbe): Promise<TestResult> {
  const request = apiRequest({ provider, endpoint: account.endpoint, apiKey }, { kind: 'list_models' });
  if (!request) {
    return {
      ok: false,
      detail: `${provider.name} has no public API to test against; give the account a custom endpoint.`,
    };
  }
  try {
    const { status } = await outboundRequest(request.url, {
      headers: { accept: 'application/json', 'user-agent': 'keyfleet-account-test', ...request.headers },
    });
    if (account.kind === 'none') return { ok: true, detail: `Reachable: HTTP ${status}.` };
    if (status >= 200 && status < 300) return { ok: true, detail: `Authenticated: HTTP ${status}.` };
    if (status === 401 || status === 403) return { ok: false, detail: `The endpoint refused the key: HTTP ${status}.` };
    return { ok: false, detail: `HTTP ${status}.` };
  } catch (error) {
    const failure = outboundFailure(error);
    logger.warn('account test failed', { provider: provider.id, accountId: account.id, failure, error });
    return { ok: false, detail: FAILURE_DETAIL[failure] };
  }
}

import type { Account } from '#shared/accounts/model.ts';
import { BlockedAddressError, outboundRequest } from '#shared/net/outbound.ts';
import type { ProviderDefinition } from '#shared/providers/types.ts';

export interface TestResult {
  ok: boolean;
  detail: string;
}

interface ProbeRequest {
  url: URL;
  headers: Record<string, string>;
}

function joinPath(base: string, path: string): URL {
  return new URL(`${base.replace(/\/+$/, '')}${path}`);
}

/**
 * The cheapest authenticated call per provider: list models. Custom endpoints are called where the
 * CLI would call them (ANTHROPIC_BASE_URL has no /v1; Codex base URLs include it; Azure takes an
 * `api-key` header and an optional api-version).
 */
export function probeRequest(
  provider: ProviderDefinition,
  account: Account,
  apiKey: string | null,
): ProbeRequest | undefined {
  const base = account.endpoint?.baseUrl ?? provider.apiBaseUrl;
  if (!base) return undefined;
  const key = apiKey ?? '';
  switch (provider.id) {
    case 'claude':
      return {
        url: joinPath(base, '/v1/models?limit=1'),
        headers: { ...(apiKey ? { 'x-api-key': key } : {}), 'anthropic-version': '2023-06-01' },
      };
    case 'gemini': {
      const url = joinPath(base, '/v1beta/models?pageSize=1');
      return { url, headers: apiKey ? { 'x-goog-api-key': key } : {} };
    }
    case 'codex': {
      const url = joinPath(base, '/models');
      if (account.endpoint?.apiVersion) url.searchParams.set('api-version', account.endpoint.apiVersion);
      if (account.endpoint?.type === 'azure') return { url, headers: apiKey ? { 'api-key': key } : {} };
      return { url, headers: apiKey ? { authorization: `Bearer ${key}` } : {} };
    }
    default:
      return { url: joinPath(base, '/models'), headers: apiKey ? { authorization: `Bearer ${key}` } : {} };
  }
}

/**
 * Tests an API-key or keyless account. API keys must authenticate (2xx); a keyless endpoint only
 * has to answer HTTP at all. The detail never contains the key or the response body.
 */
export async function probeAccount(
  provider: ProviderDefinition,
  account: Account,
  apiKey: string | null,
): Promise<TestResult> {
  const request = probeRequest(provider, account, apiKey);
  if (!request) {
    return {
      ok: false,
      detail: `${provider.name} has no public API to test against; give the account a custom endpoint.`,
    };
  }
  const where = `${request.url.origin}${request.url.pathname}`;
  try {
    const response = await outboundRequest(request.url, {
      headers: { accept: 'application/json', 'user-agent': 'keyfleet-account-test', ...request.headers },
    });
    if (account.kind === 'none') {
      return { ok: true, detail: `Reachable: GET ${where} answered HTTP ${response.status}.` };
    }
    if (response.status >= 200 && response.status < 300) {
      return { ok: true, detail: `Authenticated: GET ${where} answered HTTP ${response.status}.` };
    }
    if (response.status === 401 || response.status === 403) {
      return { ok: false, detail: `The endpoint refused the key: GET ${where} answered HTTP ${response.status}.` };
    }
    return { ok: false, detail: `GET ${where} answered HTTP ${response.status}.` };
  } catch (error) {
    if (error instanceof BlockedAddressError) {
      return {
        ok: false,
        detail: `Not called: ${error.message}; Keyfleet does not call private or link-local addresses.`,
      };
    }
    return { ok: false, detail: `Could not reach ${where}: ${(error as Error).message}.` };
  }
}

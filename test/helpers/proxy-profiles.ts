import { randomBytes } from 'node:crypto';
import type { Account } from '#shared/accounts/model.ts';
import { buildProfile } from '#shared/profiles/index.ts';
import { buildProviders } from '#shared/providers/index.ts';
import type { RedeemedProfile } from '#shared/proxy/grant.ts';
import type { ProxyKind, ProxyProvider } from '#shared/proxy/routes.ts';
import { buildAccount } from '#test/helpers/accounts.ts';

/** A JWT-shaped access token (Codex reads `exp`); the signature part is random. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${randomBytes(24).toString('base64url')}`;
}

/** Credential values that look like each provider's and are unique per call, so leak scans mean something. */
export function realCredential(provider: ProxyProvider, kind: ProxyKind, expiresAt: number): string {
  const random = randomBytes(18).toString('hex');
  if (provider === 'codex' && kind === 'oauth') return fakeJwt({ exp: Math.floor(expiresAt / 1000), sub: random });
  const shapes: Record<string, string> = {
    'claude:oauth': `sk-ant-oat01-real-${random}`,
    'claude:api_key': `sk-ant-api03-real-${random}`,
    'codex:api_key': `sk-proj-real-${random}`,
    'gemini:oauth': `ya29.real-${random}`,
    'gemini:api_key': `AIzaReal${random}`,
  };
  return shapes[`${provider}:${kind}`] as string;
}

export interface TicketProfileOptions {
  /** The fake upstream's origin, e.g. http://127.0.0.1:4000. */
  upstream: string;
  credential: string;
  taskToken: string;
  /** OAuth: when the credential expires (epoch ms). */
  expiresAt?: number;
  accountId?: string;
  /** Gemini OAuth: the task outlives the token, so ticket mode adds oauth_creds.json. */
  deliverRefreshToken?: boolean;
  refreshToken?: string;
  apiVersion?: string;
  /** When the launch (and its task token) ends; eight hours from now unless given. */
  launchExpiresAt?: number;
  model?: string;
  effort?: string;
}

/** Where each provider's CLI talks to, under the upstream's origin (as the real hosts lay it out). */
const OAUTH_BASES: Record<ProxyProvider, { cliBaseUrl: string; cliChatgptBaseUrl?: string }> = {
  claude: { cliBaseUrl: '' },
  codex: { cliBaseUrl: '/backend-api/codex', cliChatgptBaseUrl: '/backend-api/' },
  gemini: { cliBaseUrl: '' },
};

/**
 * The ticket-mode profile Keyfleet's redeem route answers today, built by the real profile
 * builders (`shared/profiles`), for an account whose upstream is the given fake.
 */
export function ticketProfile(
  provider: ProxyProvider,
  kind: ProxyKind,
  options: TicketProfileOptions,
): RedeemedProfile {
  const bases = OAUTH_BASES[provider];
  const overrides =
    kind === 'oauth'
      ? {
          [provider]: {
            cliBaseUrl: `${options.upstream}${bases.cliBaseUrl}`,
            ...(bases.cliChatgptBaseUrl ? { cliChatgptBaseUrl: `${options.upstream}${bases.cliChatgptBaseUrl}` } : {}),
          },
        }
      : {};
  const definition = buildProviders(overrides).get(provider);
  if (!definition) throw new Error(`no provider ${provider}`);
  const account: Account = buildAccount(provider, {
    kind,
    endpoint:
      kind === 'api_key'
        ? {
            type: options.apiVersion ? 'azure' : 'custom',
            baseUrl: `${options.upstream}${provider === 'codex' ? '/v1' : ''}`,
            apiVersion: options.apiVersion ?? null,
          }
        : null,
  });
  const profile = buildProfile({
    provider: definition,
    account,
    tokens:
      kind === 'oauth'
        ? {
            access_token: options.credential,
            refresh_token: options.refreshToken ?? null,
            id_token: null,
            token_type: 'Bearer',
            scope: null,
            expires_at: options.expiresAt ?? null,
            account_id: options.accountId ?? null,
          }
        : undefined,
    apiKey: kind === 'api_key' ? options.credential : undefined,
    taskToken: options.taskToken,
    apiUrl: 'http://127.0.0.1:9',
    model: options.model ?? null,
    effort: options.effort ?? null,
    deliverRefreshToken: options.deliverRefreshToken ?? false,
    now: Date.now(),
  });
  return {
    provider,
    taskToken: options.taskToken,
    // When the launch (and its task token) ends.
    expiresAt: new Date(options.launchExpiresAt ?? Date.now() + 8 * 3600_000).toISOString(),
    ...profile,
  };
}

import { z } from 'zod';
import type { AccountView } from '#shared/accounts/model.ts';
import { toAccountView } from '#shared/accounts/model.ts';
import { createOAuthAccount, type Scope } from '#shared/accounts/service.ts';
import { audit } from '#shared/audit/audit.ts';
import {
  ConflictError,
  SignInExpiredError,
  SignInFailedError,
  UpstreamError,
  ValidationError,
} from '#shared/errors.ts';
import type { Caller } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import {
  type ExchangeRecord,
  oauthConfiguration,
  oidc,
  userinfoEmail,
  withExchangeRecord,
} from '#shared/oauth/client.ts';
import {
  claimSession,
  deleteSession,
  getOwnSession,
  newSignInId,
  putSession,
  releaseSession,
  SIGN_IN_TTL_MS,
  type SignInSession,
} from '#shared/oauth/sessions.ts';
import {
  cleanEmail,
  idTokenEmail,
  type StoredTokens,
  tokenResponseEmail,
  toStoredTokens,
} from '#shared/oauth/tokens.ts';
import { getProvider, isOpenIdProvider } from '#shared/providers/index.ts';
import type { ProviderDefinition, SignInFlow } from '#shared/providers/types.ts';
import { seal, unseal } from '#shared/vault/seal.ts';

/** API.md "SignIn". */
export interface SignInView {
  id: string;
  provider: string;
  flow: SignInFlow;
  expiresAt: string;
  instructions: string;
  authorizeUrl?: string;
  verificationUri?: string;
  verificationUriComplete?: string;
  userCode?: string;
  intervalSeconds?: number;
}

interface SealedParts {
  verifier?: string;
  nonce?: string;
  deviceCode?: string;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function instructionsFor(provider: ProviderDefinition, flow: SignInFlow, redirectUri: string | null): string {
  if (flow === 'code') {
    return `Open authorizeUrl and sign in to ${provider.name}. The page then shows a code like "abc…#xyz…": send it whole as "code" to complete this sign-in.`;
  }
  if (flow === 'redirect_url') {
    return `Open authorizeUrl and sign in to ${provider.name}. Your browser then fails to open ${redirectUri ?? 'the callback address'}: copy the whole address from the address bar and send it as "redirectUrl" to complete this sign-in.`;
  }
  return `Open verificationUri, enter userCode (or open verificationUriComplete) and approve. Then call complete; it answers 202 until you have approved.`;
}

/** Starts a sign-in: PKCE (S256), state and nonce, or a device authorization; 15 minutes to finish. */
export async function startSignIn(
  providerId: string,
  caller: Caller,
  scope: Scope,
  label: string | null,
): Promise<SignInView> {
  const provider = getProvider(providerId);
  const configuration = await oauthConfiguration(provider);
  const id = newSignInId();
  const now = Date.now();
  const createdAt = new Date(now).toISOString();
  const scopeText = provider.oauth.scopes.join(' ');

  if (provider.signIn === 'device') {
    const { result: device, error } = await withExchangeRecord(() =>
      oidc.initiateDeviceAuthorization(configuration, { scope: scopeText }),
    );
    if (!device) throw upstream(provider, 'device authorization', error);
    registerSecret(device.device_code);
    const lifetime = Math.min(SIGN_IN_TTL_MS, (device.expires_in ?? 900) * 1000);
    const session: SignInSession = {
      id,
      provider: provider.id,
      flow: 'device',
      owner: caller.id,
      personal: scope.owner !== null,
      label,
      state: null,
      redirectUri: null,
      sealed: await seal(JSON.stringify({ deviceCode: device.device_code } satisfies SealedParts), id),
      intervalSeconds: device.interval ?? 5,
      lastPollAt: null,
      expiresAt: new Date(now + lifetime).toISOString(),
      createdAt,
    };
    await putSession(session);
    return {
      id,
      provider: provider.id,
      flow: 'device',
      expiresAt: session.expiresAt,
      instructions: instructionsFor(provider, 'device', null),
      verificationUri: device.verification_uri,
      ...(device.verification_uri_complete ? { verificationUriComplete: device.verification_uri_complete } : {}),
      userCode: device.user_code,
      intervalSeconds: session.intervalSeconds ?? 5,
    };
  }

  const redirectUri = provider.oauth.redirectUri;
  if (!redirectUri)
    throw new ConflictError(`${provider.name} sign-in needs a redirectUri in KEYFLEET_PROVIDER_OVERRIDES.`);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  // Only an OpenID provider is asked for (and must return) an ID token; plain OAuth 2.0 servers send none.
  const nonce = isOpenIdProvider(provider) ? oidc.randomNonce() : undefined;
  const authorizeUrl = oidc.buildAuthorizationUrl(configuration, {
    ...provider.oauth.extraAuthorizeParams,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: scopeText,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(nonce ? { nonce } : {}),
  });
  const session: SignInSession = {
    id,
    provider: provider.id,
    flow: provider.signIn,
    owner: caller.id,
    personal: scope.owner !== null,
    label,
    state,
    redirectUri,
    sealed: await seal(JSON.stringify({ verifier, ...(nonce ? { nonce } : {}) } satisfies SealedParts), id),
    intervalSeconds: null,
    lastPollAt: null,
    expiresAt: new Date(now + SIGN_IN_TTL_MS).toISOString(),
    createdAt,
  };
  await putSession(session);
  return {
    id,
    provider: provider.id,
    flow: provider.signIn,
    expiresAt: session.expiresAt,
    instructions: instructionsFor(provider, provider.signIn, redirectUri),
    authorizeUrl: authorizeUrl.href,
  };
}

function upstream(provider: ProviderDefinition, step: string, error: unknown): UpstreamError {
  logger.warn('provider call failed', { provider: provider.id, step, error });
  return new UpstreamError(`${provider.name} did not answer the ${step} request; try again.`, { cause: error });
}

const codeBody = z.object({ code: z.string().min(3).max(4096) });
const redirectBody = z.object({ redirectUrl: z.string().min(10).max(8192) });

/** `code#state` as Claude's callback page shows it. */
function parseCodeAndState(value: string): { code: string; state: string } {
  const at = value.trim().lastIndexOf('#');
  const code = value.trim().slice(0, at);
  const state = value.trim().slice(at + 1);
  if (at <= 0 || !state) {
    throw new ValidationError('code must look like "<code>#<state>", as the sign-in page shows it.', [
      { path: 'body.code', message: 'must be "<code>#<state>"' },
    ]);
  }
  return { code, state };
}

/** The pasted redirect URL: code and state (or the provider's error). */
function parseRedirect(value: string): { code: string; state: string; iss: string | null } {
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
 * The account's email: from the token answer or ID token, or from the user-info endpoint where
 * the provider says that is where it lives (Google, Bob's backend) or where a provider that is not
 * OpenID has no ID token to take it from.
 */
async function emailFor(
  provider: ProviderDefinition,
  configuration: oidc.Configuration,
  response: Record<string, unknown>,
  tokens: StoredTokens,
): Promise<string | null> {
  const fromToken = tokenResponseEmail(response) ?? idTokenEmail(tokens.id_token);
  const source = provider.oauth.emailSource;
  const askUserinfo = source === 'userinfo' || (source !== 'none' && !fromToken && !isOpenIdProvider(provider));
  if (!askUserinfo) return fromToken ?? null;
  return cleanEmail(await userinfoEmail(provider, configuration, tokens.access_token)) ?? fromToken ?? null;
}

/** openid-client's complaint about a token answer that lacks the ID token it was told to expect. */
function missingIdToken(error: unknown): boolean {
  const cause = error instanceof oidc.ClientError ? error.cause : undefined;
  return cause instanceof Error && cause.message.includes('"id_token"');
}

function refused(provider: ProviderDefinition, error: unknown, record: ExchangeRecord): Error {
  const status = record.status ?? (error instanceof oidc.ResponseBodyError ? error.status : undefined);
  const code = record.errorCode ?? (error instanceof oidc.ResponseBodyError ? error.error : undefined);
  if (status !== undefined && status >= 400 && status < 500) {
    return new SignInFailedError(
      `${provider.name} refused the code${code ? ` (${code.replace(/[^\w.-]/g, '')})` : ''}. Start a new sign-in.`,
    );
  }
  if (missingIdToken(error)) {
    logger.warn('provider answered without an ID token', { provider: provider.id });
    return new UpstreamError(
      `${provider.name} answered the token request without an ID token although its scopes include "openid". If it is a plain OAuth 2.0 server, remove "openid" from its scopes in KEYFLEET_PROVIDER_OVERRIDES.`,
      { cause: error },
    );
  }
  if (status === undefined && error instanceof oidc.ClientError) {
    return new SignInFailedError(`${provider.name}'s answer did not check out: ${error.message}`);
  }
  return upstream(provider, 'token', error);
}

export type CompleteResult = { status: 'pending' } | { account: AccountView };

/**
 * Completes a sign-in started by the same caller. Checks state before anything is spent; claims the
 * session so a code is exchanged once; on success stores the tokens, creates the account and
 * deletes the session. A refused code leaves the session as it was.
 */
export async function completeSignIn(id: string, caller: Caller, body: unknown): Promise<CompleteResult> {
  const session = await getOwnSession(id, caller.id);
  const provider = getProvider(session.provider);
  const configuration = await oauthConfiguration(provider);
  const sealed = JSON.parse(await unseal(session.sealed, id)) as SealedParts;

  let exchange: () => Promise<oidc.TokenEndpointResponse & Record<string, unknown>>;
  if (session.flow === 'device') {
    const last = session.lastPollAt ? Date.parse(session.lastPollAt) : 0;
    if (Date.now() - last < (session.intervalSeconds ?? 5) * 1000) return { status: 'pending' };
    exchange = () => oidc.genericGrantRequest(configuration, DEVICE_GRANT, { device_code: sealed.deviceCode ?? '' });
  } else {
    const { code, state, iss } =
      session.flow === 'code'
        ? { ...parseCodeAndState(parseInput(codeBody, body ?? {}, 'body').code), iss: null }
        : parseRedirect(parseInput(redirectBody, body ?? {}, 'body').redirectUrl);
    if (state !== session.state) {
      throw new SignInFailedError(
        'The state in what you pasted does not match this sign-in. Paste the result of this sign-in, or start a new one.',
      );
    }
    const callback = new URL(session.redirectUri ?? '');
    callback.searchParams.set('code', code);
    callback.searchParams.set('state', state);
    if (iss) callback.searchParams.set('iss', iss);
    const extra = provider.oauth.tokenRequestFormat === 'json' ? { state } : undefined;
    exchange = () =>
      oidc.authorizationCodeGrant(
        configuration,
        callback,
        {
          pkceCodeVerifier: sealed.verifier,
          expectedState: state,
          ...(sealed.nonce ? { expectedNonce: sealed.nonce, idTokenExpected: true } : {}),
        },
        extra,
      );
  }

  await claimSession(id);
  const { result, error, record } = await withExchangeRecord(exchange);
  if (!result) {
    if (session.flow === 'device') {
      const code = record.errorCode ?? (error instanceof oidc.ResponseBodyError ? error.error : undefined);
      const polledAt = new Date().toISOString();
      if (code === 'authorization_pending') {
        await releaseSession(id, { lastPollAt: polledAt });
        return { status: 'pending' };
      }
      if (code === 'slow_down') {
        await releaseSession(id, { lastPollAt: polledAt, intervalSeconds: (session.intervalSeconds ?? 5) + 5 });
        return { status: 'pending' };
      }
      if (code === 'expired_token') {
        await deleteSession(id);
        throw new SignInExpiredError('The device code expired before it was approved. Start a new sign-in.');
      }
      if (code === 'access_denied') {
        await deleteSession(id);
        throw new SignInFailedError('The sign-in was denied on the provider’s page.');
      }
    }
    await releaseSession(id);
    throw refused(provider, error, record);
  }

  const tokens = toStoredTokens(result);
  const email = await emailFor(provider, configuration, result, tokens);
  const scope: Scope = { owner: session.personal ? session.owner : null };
  const { account, active } = await createOAuthAccount({
    provider: provider.id,
    scope,
    tokens,
    label: session.label,
    email,
    actor: caller.id,
  });
  await deleteSession(id);
  await audit({
    actor: caller.id,
    action: 'sign_in.completed',
    provider: provider.id,
    accountId: account.id,
    detail: { flow: session.flow },
  });
  return { account: toAccountView(account, active) };
}

/** Cancels the caller's own sign-in (expired ones too). */
export async function cancelSignIn(id: string, caller: Caller): Promise<void> {
  try {
    await getOwnSession(id, caller.id);
  } catch (error) {
    if (!(error instanceof SignInExpiredError)) throw error;
  }
  await deleteSession(id);
}

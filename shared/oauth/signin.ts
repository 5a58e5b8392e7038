import * as oidc from 'openid-client';
import type { AccountView } from '#shared/accounts/model.ts';
import { toAccountView } from '#shared/accounts/model.ts';
import type { Scope } from '#shared/accounts/service.ts';
import { audit } from '#shared/audit/audit.ts';
import { ConflictError, SignInExpiredError, SignInFailedError, UpstreamError } from '#shared/errors.ts';
import type { Caller } from '#shared/http/types.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { createOAuthAccount } from '#shared/oauth/accounts.ts';
import { oauthConfiguration, type ProviderAnswer, providerAnswer, userinfoEmail } from '#shared/oauth/client.ts';
import type { PastedCallback } from '#shared/oauth/pasted.ts';
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
import { cleanEmail, idTokenEmail, tokenResponseEmail, toStoredTokens } from '#shared/oauth/tokens.ts';
import { getProvider, isOpenIdProvider } from '#shared/providers/index.ts';
import type { ProviderDefinition, ProviderId, SignInFlow } from '#shared/providers/types.ts';
import { seal, unseal } from '#shared/vault/seal.ts';
import type { StoredTokens } from '#shared/vault/tokens.ts';

/** API.md "SignIn". */
export interface SignInView {
  id: string;
  provider: ProviderId;
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

/** Who starts a sign-in, for which provider, and for which account scope and label. */
export interface StartSignInInput {
  provider: ProviderId;
  caller: Caller;
  scope: Scope;
  label: string | null;
}

/** What both kinds of start share: the provider's configuration and the new session's fields. */
interface Start {
  provider: ProviderDefinition;
  configuration: oidc.Configuration;
  base: Pick<SignInSession, 'id' | 'provider' | 'owner' | 'personal' | 'label' | 'createdAt'>;
  now: number;
}

/** Starts a sign-in: PKCE (S256), state and nonce, or a device authorization; 15 minutes to finish. */
export async function startSignIn(input: StartSignInInput): Promise<SignInView> {
  const provider = getProvider(input.provider);
  const configuration = await oauthConfiguration(provider);
  const now = Date.now();
  const start: Start = {
    provider,
    configuration,
    now,
    base: {
      id: newSignInId(),
      provider: provider.id,
      owner: input.caller.id,
      personal: input.scope.owner !== null,
      label: input.label,
      createdAt: new Date(now).toISOString(),
    },
  };
  return provider.signIn === 'device' ? startDevice(start) : startBrowser(start);
}

/** RFC 8628: asks for a device code; the person approves it on the provider's page. */
async function startDevice({ provider, configuration, base, now }: Start): Promise<SignInView> {
  let device: oidc.DeviceAuthorizationResponse;
  try {
    device = await oidc.initiateDeviceAuthorization(configuration, { scope: provider.oauth.scopes.join(' ') });
  } catch (error) {
    throw upstream(provider, 'device authorization', error);
  }
  registerSecret(device.device_code);
  const lifetime = Math.min(SIGN_IN_TTL_MS, (device.expires_in ?? 900) * 1000);
  const session: SignInSession = {
    ...base,
    flow: 'device',
    state: null,
    redirectUri: null,
    sealed: await seal(JSON.stringify({ deviceCode: device.device_code } satisfies SealedParts), base.id),
    intervalSeconds: device.interval ?? 5,
    lastPollAt: null,
    expiresAt: new Date(now + lifetime).toISOString(),
  };
  await putSession(session);
  return {
    id: base.id,
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

/** Authorization code with PKCE: the person opens the authorize URL and pastes what comes back. */
async function startBrowser({ provider, configuration, base, now }: Start): Promise<SignInView> {
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
    scope: provider.oauth.scopes.join(' '),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(nonce ? { nonce } : {}),
  });
  const sealedParts: SealedParts = { verifier, ...(nonce ? { nonce } : {}) };
  const session: SignInSession = {
    ...base,
    flow: provider.signIn,
    state,
    redirectUri,
    sealed: await seal(JSON.stringify(sealedParts), base.id),
    intervalSeconds: null,
    lastPollAt: null,
    expiresAt: new Date(now + SIGN_IN_TTL_MS).toISOString(),
  };
  await putSession(session);
  return {
    id: base.id,
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
  return (
    cleanEmail(await userinfoEmail({ provider, configuration, accessToken: tokens.access_token })) ?? fromToken ?? null
  );
}

/** openid-client's complaint about a token answer that lacks the ID token it was told to expect. */
function missingIdToken(error: unknown): boolean {
  const cause = error instanceof oidc.ClientError ? error.cause : undefined;
  return cause instanceof Error && cause.message.includes('"id_token"');
}

function refused(provider: ProviderDefinition, error: unknown, answer: ProviderAnswer): Error {
  const { status, errorCode: code } = answer;
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

/** Who completes which sign-in, and what they pasted (read by the route layer for the session's flow). */
export interface CompleteSignInInput {
  id: string;
  caller: Caller;
  /** The pasted authorization response; asked for only in the browser flows, after the session is found. */
  pasted: (flow: Exclude<SignInFlow, 'device'>) => PastedCallback;
}

type TokenAnswer = oidc.TokenEndpointResponse & Record<string, unknown>;

/** A live session with everything needed to exchange its grant. */
interface Completion {
  session: SignInSession;
  provider: ProviderDefinition;
  configuration: oidc.Configuration;
  sealed: SealedParts;
}

/** The device-code poll, or `undefined` while the provider's polling interval has not passed. */
function devicePoll(c: Completion): (() => Promise<TokenAnswer>) | undefined {
  const last = c.session.lastPollAt ? Date.parse(c.session.lastPollAt) : 0;
  if (Date.now() - last < (c.session.intervalSeconds ?? 5) * 1000) return undefined;
  return () => oidc.genericGrantRequest(c.configuration, DEVICE_GRANT, { device_code: c.sealed.deviceCode ?? '' });
}

/** The code exchange for what was pasted; its state is checked before anything is spent. */
function codeExchange(c: Completion, pasted: PastedCallback): () => Promise<TokenAnswer> {
  const { code, state, iss } = pasted;
  if (state !== c.session.state) {
    throw new SignInFailedError(
      'The state in what you pasted does not match this sign-in. Paste the result of this sign-in, or start a new one.',
    );
  }
  const callback = new URL(c.session.redirectUri ?? '');
  callback.searchParams.set('code', code);
  callback.searchParams.set('state', state);
  if (iss) callback.searchParams.set('iss', iss);
  const extra = c.provider.oauth.tokenRequestFormat === 'json' ? { state } : undefined;
  const checks = {
    pkceCodeVerifier: c.sealed.verifier,
    expectedState: state,
    ...(c.sealed.nonce ? { expectedNonce: c.sealed.nonce, idTokenExpected: true } : {}),
  };
  return () => oidc.authorizationCodeGrant(c.configuration, callback, checks, extra);
}

/**
 * A device poll the provider did not answer with tokens (RFC 8628 §3.5): still pending (the session
 * is given back, slower after `slow_down`), or over for good. `undefined` for any other failure.
 */
async function devicePollOutcome(c: Completion, code: string | undefined): Promise<CompleteResult | undefined> {
  const { id, intervalSeconds } = c.session;
  const polledAt = new Date().toISOString();
  if (code === 'authorization_pending') {
    await releaseSession(id, { lastPollAt: polledAt });
    return { status: 'pending' };
  }
  if (code === 'slow_down') {
    await releaseSession(id, { lastPollAt: polledAt, intervalSeconds: (intervalSeconds ?? 5) + 5 });
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
  return undefined;
}

/** Stores the tokens as a new account, removes the session and records the sign-in. */
async function createAccount(c: Completion, caller: Caller, answer: TokenAnswer): Promise<CompleteResult> {
  const tokens = toStoredTokens(answer);
  const email = await emailFor(c.provider, c.configuration, answer, tokens);
  const { account, active } = await createOAuthAccount({
    provider: c.provider.id,
    scope: { owner: c.session.personal ? c.session.owner : null },
    tokens,
    label: c.session.label,
    email,
    actor: caller.id,
  });
  await deleteSession(c.session.id);
  await audit({
    actor: caller.id,
    action: 'sign_in.completed',
    provider: c.provider.id,
    accountId: account.id,
    detail: { flow: c.session.flow },
  });
  return { account: toAccountView(account, active) };
}

/**
 * Completes a sign-in started by the same caller. Checks state before anything is spent; claims the
 * session so a code is exchanged once; on success stores the tokens, creates the account and
 * deletes the session. A refused code leaves the session as it was.
 */
export async function completeSignIn(input: CompleteSignInInput): Promise<CompleteResult> {
  const session = await getOwnSession({ id: input.id, callerId: input.caller.id });
  const provider = getProvider(session.provider);
  const configuration = await oauthConfiguration(provider);
  const sealed = JSON.parse(await unseal(session.sealed, session.id)) as SealedParts;
  // This process may not be the one that started the sign-in: each part is scrubbed on its own too.
  for (const part of [sealed.verifier, sealed.nonce, sealed.deviceCode]) registerSecret(part);
  const c: Completion = { session, provider, configuration, sealed };

  const exchange = session.flow === 'device' ? devicePoll(c) : codeExchange(c, input.pasted(session.flow));
  if (!exchange) return { status: 'pending' };
  await claimSession(session.id);
  let answer: TokenAnswer;
  try {
    answer = await exchange();
  } catch (error) {
    const provided = await providerAnswer(error);
    const outcome = session.flow === 'device' ? await devicePollOutcome(c, provided.errorCode) : undefined;
    if (outcome) return outcome;
    await releaseSession(session.id);
    throw refused(provider, error, provided);
  }
  return createAccount(c, input.caller, answer);
}

/** Cancels the caller's own sign-in (expired ones too). */
export async function cancelSignIn(id: string, caller: Caller): Promise<void> {
  try {
    await getOwnSession({ id, callerId: caller.id });
  } catch (error) {
    if (!(error instanceof SignInExpiredError)) throw error;
  }
  await deleteSession(id);
}

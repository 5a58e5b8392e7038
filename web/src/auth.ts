import * as oauth from 'oauth4webapi';
import { api, useBearer } from './api.ts';
import type { Caller } from './types.ts';

/** What `/console/config.json` says about signing in (see web/serve.ts). */
export type ConsoleConfig =
  | { auth: 'session' }
  | { auth: 'jwt'; issuer: string; clientId: string; scopes: string[]; redirectPath: string }
  | { auth: 'iam' };

/** Local mode: who the session cookie belongs to, or null when there is none. */
export async function currentSession(): Promise<Caller | null> {
  try {
    return (await api<{ caller: Caller }>('GET', '/console/session')).caller;
  } catch {
    return null;
  }
}

/** Local mode: trades the bearer token for an HttpOnly session cookie; the token is not kept. */
export async function signInWithToken(token: string): Promise<Caller> {
  return (await api<{ caller: Caller }>('POST', '/console/session', { token })).caller;
}

/** Ends the session: the server forgets it and clears the cookie; a JWT held in memory is dropped. */
export async function signOut(): Promise<void> {
  useBearer(null);
  await api('DELETE', '/console/session').catch(() => undefined);
}

const CHANNEL = 'keyfleet-console-sign-in';

/**
 * The sign-in window's side: `/console/callback` hands the authorization response to the
 * console that opened it (same origin, over a BroadcastChannel) and closes. Nothing is stored.
 */
export function finishCallback(): boolean {
  if (location.pathname !== '/console/callback') return false;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage(location.href);
  channel.close();
  window.close();
  return true;
}

/**
 * Deployed with the JWT option: authorization code with PKCE against the team's OpenID provider,
 * in a small window so the verifier, state and nonce stay in this page's memory (never in
 * storage). Returns the ID token's subject (the caller id the API will see); the token itself is kept
 * in memory only and sent as the bearer on API calls.
 */
export async function signInWithJwt(config: Extract<ConsoleConfig, { auth: 'jwt' }>): Promise<string> {
  const issuer = new URL(config.issuer);
  // The server only hands out http:// issuers on loopback (a local identity provider, tests).
  const options = { [oauth.allowInsecureRequests]: issuer.protocol === 'http:' };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
  if (!as.authorization_endpoint) throw new Error('The OpenID provider has no authorization endpoint.');
  const client: oauth.Client = { client_id: config.clientId };
  const redirectUri = new URL(config.redirectPath, location.origin).href;
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: config.scopes.join(' '),
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }).toString();
  const returned = await new Promise<string>((resolve, reject) => {
    const channel = new BroadcastChannel(CHANNEL);
    const popup = window.open(url.href, 'keyfleet-sign-in', 'popup,width=520,height=680');
    if (!popup) return reject(new Error('Allow pop-ups for this page to sign in.'));
    channel.onmessage = (event) => {
      channel.close();
      resolve(String(event.data));
    };
  });
  const params = oauth.validateAuthResponse(as, client, new URL(returned), state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri,
    verifier,
    options,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  });
  const idToken = result.id_token;
  if (!idToken) throw new Error('The OpenID provider returned no ID token.');
  // The ID token is the bearer, so its own expiry (not the access token's) decides how long it serves.
  const claims = oauth.getValidatedIdTokenClaims(result);
  const expires = typeof claims?.exp === 'number' ? claims.exp * 1000 : Date.now();
  useBearer(() => (Date.now() < expires ? idToken : null));
  return String(claims?.sub ?? '');
}

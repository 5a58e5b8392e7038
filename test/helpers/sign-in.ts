import { expect } from 'vitest';
import type { TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';

export interface SignedInAccount {
  id: string;
  provider: string;
  email: string | null;
  status: string;
}

/** Signs in a Claude-style (code) or redirect-URL (Codex, Gemini, Bob once configured) account through the API. */
export async function signIn(
  api: TestApi,
  oauth: OAuthServer,
  provider: 'claude' | 'codex' | 'gemini' | 'bob',
  login: string,
): Promise<SignedInAccount> {
  const started = await api.call<{ signIn: { id: string; authorizeUrl: string } }>(
    'POST',
    `/v1/providers/${provider}/sign-ins`,
    {
      body: {},
    },
  );
  expect(started.status).toBe(201);
  const back = new URL(await oauth.authorize(started.body.signIn.authorizeUrl, login));
  const body =
    provider === 'claude'
      ? { code: `${back.searchParams.get('code')}#${back.searchParams.get('state')}` }
      : { redirectUrl: back.href };
  const done = await api.call<{ account: SignedInAccount }>('POST', `/v1/sign-ins/${started.body.signIn.id}/complete`, {
    body,
  });
  expect(done.status).toBe(201);
  return done.body.account;
}

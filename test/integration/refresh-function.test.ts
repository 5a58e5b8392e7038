import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOAuthApi, type TestApi } from '#test/helpers/api.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

/**
 * The refresh function's direct invocation, as the launch and container functions send it
 * (`shared/launch/freshen.ts`), handled by the real handler against the local endpoints.
 */

let stop: () => Promise<void>;
let api: TestApi;
let oauth: OAuthServer;
let accountId: string;
let handler: (event: Record<string, unknown>) => Promise<unknown>;

beforeAll(async () => {
  ({ stop, api, oauth } = await startOAuthApi());
  ({ handler } = (await import('#functions/refresh.ts')) as unknown as { handler: typeof handler });
});
afterAll(async () => stop());
// Each test: a freshly signed-in Codex account whose token is valid for an hour.
beforeEach(async () => {
  accountId = (await signIn(api, oauth, 'codex', 'refresh-function')).id;
});

const refreshGrants = () => oauth.requests.filter((r) => r.body.grant_type === 'refresh_token').length;

describe('the refresh function invoked for one account', () => {
  it('leaves a token that is still valid alone without force', async () => {
    const before = refreshGrants();
    const out = await handler({ action: 'refresh', provider: 'codex', accountId, minValidityMs: 60_000 });
    expect(out).toEqual({ result: 'ok', status: 'connected', refreshed: false });
    expect(refreshGrants()).toBe(before);
  });

  it('regression: a forced refresh request (unauthorized_recovery) is accepted and refreshes a valid token', async () => {
    const before = refreshGrants();
    const out = await handler({ action: 'refresh', provider: 'codex', accountId, minValidityMs: 60_000, force: true });
    expect(out).toEqual({ result: 'ok', status: 'connected', refreshed: true });
    expect(refreshGrants()).toBe(before + 1);
  });

  it('refuses a request with unknown fields', async () => {
    await expect(
      handler({ action: 'refresh', provider: 'codex', accountId, minValidityMs: 0, extra: true }),
    ).rejects.toMatchObject({ name: '$ZodError', issues: [{ code: 'unrecognized_keys', keys: ['extra'] }] });
  });
});

import * as z from 'zod/mini';
import { NotFoundError } from '#shared/errors.ts';
import * as schemas from '#shared/http/schemas.ts';
import type { ApiRequest, Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { codeBody, pastedCallback, redirectBody } from '#shared/oauth/pasted.ts';
import { cancelSignIn, completeSignIn, startSignIn } from '#shared/oauth/signin.ts';
import { getProvider } from '#shared/providers/index.ts';

/** Team sign-ins (admin) create server accounts; `/v1/me/…` sign-ins (member) the caller's own. */
export type SignInMode = 'team' | 'personal';

const startBody = z.strictObject({ label: z.optional(schemas.label) });

function signInParam(request: ApiRequest): string {
  const id = request.params.id ?? '';
  if (!schemas.signInIdParam.safeParse(id).success) throw new NotFoundError('No such sign-in.');
  return id;
}

/** `POST /v1/providers/{provider}/sign-ins` (team) or `POST /v1/me/providers/{provider}/sign-ins` (personal). */
export function signInStartRoute(mode: SignInMode): Route {
  return {
    method: 'POST',
    path: mode === 'team' ? '/v1/providers/{provider}/sign-ins' : '/v1/me/providers/{provider}/sign-ins',
    access: mode === 'team' ? 'admin' : 'member',
    contract: {
      summary:
        mode === 'team'
          ? 'Start signing in a team account (code, redirect URL or device flow, per provider)'
          : 'Start signing in one of your own accounts',
      tag: 'sign-in',
      body: startBody,
      bodyOptional: true,
      responses: {
        201: {
          description: 'The sign-in, with what to show the person',
          schema: z.strictObject({ signIn: wire.signIn }),
        },
      },
      errors: [409, 502],
    },
    handler: async (request) => {
      const provider = getProvider(request.params.provider ?? '');
      const body = parseInput(startBody, schemas.optionalBody(request.body), 'body');
      const caller = callerOf(request);
      const signIn = await startSignIn({
        provider: provider.id,
        caller,
        scope: { owner: mode === 'team' ? null : caller.id },
        label: body.label ?? null,
      });
      return { status: 201, body: { signIn } };
    },
  };
}

/** Completing (201 with the account, 202 while a device code waits) and cancelling a sign-in: its starter only. */
export const signInCompletionRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/sign-ins/{id}/complete',
    access: 'member',
    contract: {
      summary:
        'Complete a sign-in: the pasted code#state or redirect URL, or {} ("I\'ve signed in") for the device flow',
      tag: 'sign-in',
      body: z.union([codeBody, redirectBody, z.strictObject({})]),
      responses: {
        201: { description: 'The new account', schema: z.strictObject({ account: wire.account }) },
        202: { description: 'Device flow: not approved yet', schema: z.strictObject({ status: z.literal('pending') }) },
      },
      errors: [409, 410, 422, 502],
    },
    handler: async (request) => {
      const result = await completeSignIn({
        id: signInParam(request),
        caller: callerOf(request),
        pasted: (flow) => pastedCallback(request.body, flow),
      });
      return 'status' in result ? { status: 202, body: result } : { status: 201, body: result };
    },
  },
  {
    method: 'DELETE',
    path: '/v1/sign-ins/{id}',
    access: 'member',
    contract: {
      summary: 'Cancel a sign-in you started',
      tag: 'sign-in',
      responses: { 204: { description: 'Cancelled' } },
    },
    handler: async (request) => {
      await cancelSignIn(signInParam(request), callerOf(request));
      return { status: 204 };
    },
  },
];

/** Every sign-in route, for the function that serves them (`functions/accounts.ts`). */
export const signInRoutes: Route[] = [
  signInStartRoute('team'),
  signInStartRoute('personal'),
  ...signInCompletionRoutes,
];

import * as z from 'zod/mini';
import { getAccount } from '#shared/accounts/store.ts';
import { audit } from '#shared/audit/audit.ts';
import { NotFoundError } from '#shared/errors.ts';
import { accountIdParam } from '#shared/http/schemas.ts';
import type { ApiRequest, Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import {
  DEFAULT_ENVIRONMENT,
  deleteEnvironment,
  environmentBody,
  environmentName,
  getEnvironment,
  listEnvironments,
  putEnvironment,
} from '#shared/launch/environments.ts';
import { grantBody, issueGrant, listGrants, revokeGrant } from '#shared/launch/grants.ts';
import { launchBody, launchTask } from '#shared/launch/launch.ts';
import { listLaunches } from '#shared/launch/listing.ts';
import { getPreferences, type Preferences, preferencesBody, putPreferences } from '#shared/launch/preferences.ts';
import { getLaunch, type LaunchRecord } from '#shared/launch/records.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider } from '#shared/providers/index.ts';
import { PROVIDER_IDS, type ProviderId } from '#shared/providers/types.ts';
import { pageQueryFields } from '#shared/store/cursor.ts';

/** An environment name from the path; a malformed one is `validation_failed`, not a missing environment. */
function nameParam(request: ApiRequest): string {
  return parseInput(z.strictObject({ name: environmentName }), { name: request.params.name ?? '' }, 'path').name;
}

const launchQuery = z.strictObject({
  ...pageQueryFields,
  provider: z.optional(z.enum(PROVIDER_IDS)),
  accountId: z.optional(accountIdParam),
});

/** API.md's Launch: the record without its hashes and internal flags. */
export function launchView(record: LaunchRecord) {
  return {
    id: record.id,
    provider: record.provider,
    accountId: record.accountId,
    accountLabel: record.accountLabel,
    callerId: record.callerId,
    delivery: record.delivery ?? 'ticket',
    model: record.model,
    effort: record.effort,
    taskArn: record.taskArn,
    status: record.status,
    createdAt: record.createdAt,
    ...(record.stoppedAt ? { stoppedAt: record.stoppedAt } : {}),
    expiresAt: record.expiresAt,
    warnings: record.warnings,
    ...(record.usage ? { usage: record.usage } : {}),
  };
}

/** GET /v1/launches: admins list every launch, members their own; newest first. */
async function listRoute(request: ApiRequest) {
  const caller = callerOf(request);
  const query = parseInput(launchQuery, request.query, 'query');
  const page = await listLaunches({
    callerId: caller.role === 'admin' ? undefined : caller.id,
    limit: query.limit ?? 50,
    before: query.before,
    provider: query.provider,
    accountId: query.accountId,
  });
  return { status: 200, body: { launches: page.launches.map(launchView), ...(page.next ? { next: page.next } : {}) } };
}

/** GET /v1/launches/{id}: a member sees only their own launches (others are `not_found`). */
async function getRoute(request: ApiRequest) {
  const caller = callerOf(request);
  const id = request.params.id ?? '';
  const record = /^lch_[a-f0-9]{20}$/.test(id) ? await getLaunch(id) : undefined;
  if (!record || (caller.role !== 'admin' && record.callerId !== caller.id)) throw new NotFoundError('No such launch.');
  return { status: 200, body: { launch: launchView(record) } };
}

/** Efforts must suit the provider (and model, for Grok). */
function checkChoices(providers: Record<string, { model?: string; effort?: string } | undefined>): void {
  for (const [id, choice] of Object.entries(providers)) {
    if (choice) {
      checkEffort({
        provider: getProvider(id),
        model: choice.model ?? null,
        effort: choice.effort,
        path: `body.providers.${id}.effort`,
      });
    }
  }
}

/** A saved preference must name a team account or one of the caller's own. */
async function checkPreferredAccounts(callerId: string, preferences: Preferences): Promise<void> {
  for (const [id, choice] of Object.entries(preferences.providers)) {
    if (!choice?.preferredAccountId) continue;
    const account = await getAccount(id as ProviderId, choice.preferredAccountId);
    if (!account || (account.owner !== null && account.owner !== callerId)) {
      throw new NotFoundError(`No ${id} account with id "${choice.preferredAccountId}".`);
    }
  }
}

/** Routes served by `functions/launch.ts`. */
export const launchRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/launches',
    access: 'member',
    contract: {
      summary: 'Launch an agent task: account, model and effort chosen, the ticket to the task (or its proxy)',
      tag: 'launches',
      body: launchBody,
      responses: { 201: { description: 'The started launch', schema: z.strictObject({ launch: wire.launchCreated }) } },
      errors: [409, 502],
    },
    handler: async (request) => {
      const body = parseInput(launchBody, request.body, 'body');
      return { status: 201, body: { launch: await launchTask(callerOf(request), body) } };
    },
  },
  {
    method: 'GET',
    path: '/v1/launches',
    access: 'member',
    contract: {
      summary: 'Launches, newest first (admins: all; members: their own)',
      tag: 'launches',
      query: launchQuery,
      responses: { 200: { description: 'One page of launches', schema: wire.page('launches', wire.launch) } },
    },
    handler: listRoute,
  },
  {
    method: 'GET',
    path: '/v1/launches/{id}',
    access: 'member',
    contract: {
      summary: 'One launch, with its usage when its proxy reported any',
      tag: 'launches',
      responses: { 200: { description: 'The launch', schema: z.strictObject({ launch: wire.launch }) } },
    },
    handler: getRoute,
  },
  {
    method: 'GET',
    path: '/v1/me/preferences',
    access: 'member',
    contract: {
      summary: 'Your launch preferences per provider (preferred account, model, effort)',
      tag: 'preferences',
      responses: { 200: { description: 'Your preferences', schema: wire.preferences } },
    },
    handler: async (request) => ({ status: 200, body: await getPreferences(callerOf(request).id) }),
  },
  {
    method: 'PUT',
    path: '/v1/me/preferences',
    access: 'member',
    contract: {
      summary: 'Replace your launch preferences',
      tag: 'preferences',
      body: preferencesBody,
      responses: { 200: { description: 'The preferences as stored', schema: wire.preferences } },
    },
    handler: async (request) => {
      const preferences = parseInput(preferencesBody, request.body, 'body');
      checkChoices(preferences.providers);
      await checkPreferredAccounts(callerOf(request).id, preferences);
      await putPreferences(callerOf(request).id, preferences);
      return { status: 200, body: preferences };
    },
  },
  {
    method: 'POST',
    path: '/v1/me/grants',
    access: 'member',
    contract: {
      summary: 'A personal grant for this workstation (keyfleet sync): bound to you, expiring, revocable',
      tag: 'grants',
      body: grantBody,
      responses: { 201: { description: 'The grant, with its value (shown once)', schema: wire.grantIssued } },
      errors: [409],
    },
    handler: async (request) => {
      const body = parseInput(grantBody, request.body, 'body');
      const { grant, token } = await issueGrant(callerOf(request), body);
      return { status: 201, body: { grant: { ...grant, token } } };
    },
  },
  {
    method: 'GET',
    path: '/v1/me/grants',
    access: 'member',
    contract: {
      summary: 'Your grants (never their values)',
      tag: 'grants',
      responses: { 200: { description: 'Your grants', schema: z.strictObject({ grants: z.array(wire.grant) }) } },
    },
    handler: async (request) => ({ status: 200, body: { grants: await listGrants(callerOf(request).id) } }),
  },
  {
    method: 'DELETE',
    path: '/v1/me/grants/{id}',
    access: 'member',
    contract: {
      summary: 'Revoke one of your grants',
      tag: 'grants',
      responses: { 200: { description: 'The revoked grant', schema: z.strictObject({ grant: wire.grant }) } },
    },
    handler: async (request) => ({
      status: 200,
      body: { grant: await revokeGrant(callerOf(request), request.params.id ?? '') },
    }),
  },
  {
    method: 'GET',
    path: '/v1/environments',
    access: 'member',
    contract: {
      summary: 'Every environment, default included',
      tag: 'environments',
      responses: {
        200: { description: 'The environments', schema: z.strictObject({ environments: z.array(wire.environment) }) },
      },
    },
    handler: async () => ({ status: 200, body: { environments: await listEnvironments() } }),
  },
  {
    method: 'GET',
    path: '/v1/environments/{name}',
    access: 'member',
    contract: {
      summary: 'One environment (default answers even before it was saved)',
      tag: 'environments',
      responses: { 200: { description: 'The environment', schema: wire.environment } },
    },
    handler: async (request) => {
      const name = nameParam(request);
      const environment = await getEnvironment(name);
      if (!environment) throw new NotFoundError(`No environment named "${name}".`);
      return { status: 200, body: environment };
    },
  },
  {
    method: 'PUT',
    path: '/v1/environments/{name}',
    access: 'admin',
    contract: {
      summary: 'Create or replace an environment: agent, delivery, model and effort per provider',
      tag: 'environments',
      body: environmentBody,
      responses: { 200: { description: 'The environment as stored', schema: wire.environment } },
    },
    handler: async (request) => {
      const name = nameParam(request);
      const body = parseInput(environmentBody, request.body, 'body');
      checkChoices(body.providers);
      const environment = { name, ...body };
      await putEnvironment(environment);
      await audit({ actor: callerOf(request).id, action: 'environment.changed', detail: environment });
      return { status: 200, body: environment };
    },
  },
  {
    method: 'DELETE',
    path: '/v1/environments/{name}',
    access: 'admin',
    contract: {
      summary: 'Delete an environment (default is reset)',
      tag: 'environments',
      responses: { 204: { description: 'Deleted' } },
    },
    handler: async (request) => {
      const name = nameParam(request);
      const deleted = await deleteEnvironment(name);
      if (!deleted && name !== DEFAULT_ENVIRONMENT) throw new NotFoundError(`No environment named "${name}".`);
      if (deleted) await audit({ actor: callerOf(request).id, action: 'environment.deleted', detail: { name } });
      return { status: 204 };
    },
  },
];

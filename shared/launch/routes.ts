import { getAccount } from '#shared/accounts/store.ts';
import { NotFoundError } from '#shared/errors.ts';
import type { ApiRequest, Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import { launchBody, launchTask } from '#shared/launch/launch.ts';
import {
  environmentBody,
  environmentName,
  getEnvironment,
  getPreferences,
  type Preferences,
  preferencesBody,
  putEnvironment,
  putPreferences,
} from '#shared/launch/preferences.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderId } from '#shared/providers/types.ts';

function nameParam(request: ApiRequest): string {
  const name = request.params.name ?? '';
  if (!environmentName.safeParse(name).success) throw new NotFoundError(`No environment named "${name.slice(0, 64)}".`);
  return name;
}

/** Efforts must suit the provider (and model, for Grok). */
function checkChoices(providers: Record<string, { model?: string; effort?: string } | undefined>): void {
  for (const [id, choice] of Object.entries(providers)) {
    if (choice) checkEffort(getProvider(id), choice.model ?? null, choice.effort, `body.providers.${id}.effort`);
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
    handler: async (request) => {
      const body = parseInput(launchBody, request.body, 'body');
      return { status: 201, body: { launch: await launchTask(callerOf(request), body) } };
    },
  },
  {
    method: 'GET',
    path: '/v1/me/preferences',
    access: 'member',
    handler: async (request) => ({ status: 200, body: await getPreferences(callerOf(request).id) }),
  },
  {
    method: 'PUT',
    path: '/v1/me/preferences',
    access: 'member',
    handler: async (request) => {
      const preferences = parseInput(preferencesBody, request.body, 'body');
      checkChoices(preferences.providers);
      await checkPreferredAccounts(callerOf(request).id, preferences);
      await putPreferences(callerOf(request).id, preferences);
      return { status: 200, body: preferences };
    },
  },
  {
    method: 'GET',
    path: '/v1/environments/{name}',
    access: 'member',
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
    handler: async (request) => {
      const name = nameParam(request);
      const body = parseInput(environmentBody, request.body, 'body');
      checkChoices(body.providers);
      const environment = { name, ...body };
      await putEnvironment(environment);
      return { status: 200, body: environment };
    },
  },
];

import { handler as accountsHandler, routes as accountsRoutes } from '#functions/accounts.ts';
import { handler as helpersHandler } from '#functions/helpers.ts';
import { handler as launchHandler } from '#functions/launch.ts';
import { handler as tasksHandler } from '#functions/tasks.ts';
import type { LocalFunction } from '#infra/local/server.ts';
import { helperRoutes } from '#shared/helpers/routes.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { refreshInProcess } from '#shared/launch/freshen.ts';
import { launchRoutes } from '#shared/launch/routes.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';

// Local mode has no refresh function to invoke: launches and container routes refresh in process.
refreshInProcess(refreshAccount);

/** Every HTTP function of the stack, with the routes API Gateway sends it. */
export const localFunctions: LocalFunction[] = [
  { name: 'accounts', routes: accountsRoutes, handler: accountsHandler },
  { name: 'launch', routes: launchRoutes, handler: launchHandler },
  { name: 'tasks', routes: containerRoutes, handler: tasksHandler },
  { name: 'helpers', routes: helperRoutes, handler: helpersHandler },
];

import { handler as accountsHandler } from '#functions/accounts.ts';
import type { LocalFunction } from '#infra/local/server.ts';
import { accountRoutes } from '#shared/accounts/routes.ts';

/** Every HTTP function of the stack, with the routes API Gateway sends it. */
export const localFunctions: LocalFunction[] = [{ name: 'accounts', routes: accountRoutes, handler: accountsHandler }];

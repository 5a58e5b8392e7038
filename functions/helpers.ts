import { helperRoutes } from '#shared/helpers/routes.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/** Task names and commit messages from the default agent's API-key account. */
export const handler = httpHandler(helperRoutes);

import { httpHandler } from '#shared/http/handler.ts';
import { launchRoutes } from '#shared/launch/routes.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/** Task launches, user preferences and environments. */
export const handler = httpHandler(launchRoutes);

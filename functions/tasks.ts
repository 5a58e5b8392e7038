import { httpHandler } from '#shared/http/handler.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/** Container side: ticket redemption, task-token routes, the Codex refresh route. */
export const handler = httpHandler(containerRoutes);

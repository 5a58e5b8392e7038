import { httpHandler } from '#shared/http/handler.ts';
import { launchRoutes } from '#shared/launch/routes.ts';

/** Task launches, user preferences and environments. */
export const handler = httpHandler(launchRoutes);

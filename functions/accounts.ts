import { accountRoutes } from '#shared/accounts/routes.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/** Providers, accounts, sign-in and settings routes. */
export const handler = httpHandler(accountRoutes);

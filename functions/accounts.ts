import { accountRoutes } from '#shared/accounts/routes.ts';
import { httpHandler } from '#shared/http/handler.ts';

/** Providers, accounts, sign-in and settings routes. */
export const handler = httpHandler(accountRoutes);

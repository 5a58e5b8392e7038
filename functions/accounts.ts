import { accountRoutes } from '#shared/accounts/routes.ts';
import { auditRoutes } from '#shared/audit/routes.ts';
import { financeRoutes } from '#shared/finance/routes.ts';
import { httpHandler } from '#shared/http/handler.ts';
import type { Route } from '#shared/http/types.ts';
import { checkOAuthAccount } from '#shared/oauth/accounts.ts';
import { signInRoutes } from '#shared/oauth/routes.ts';
import { settingsRoutes } from '#shared/settings/routes.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

/** Providers, accounts, sign-in, settings, audit and finance: each table lives beside its domain. */
export const routes: Route[] = [
  ...accountRoutes({ checkOAuth: checkOAuthAccount }),
  ...signInRoutes,
  ...settingsRoutes,
  ...auditRoutes,
  ...financeRoutes,
];

export const handler = httpHandler(routes);

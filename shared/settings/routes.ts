import { audit } from '#shared/audit/audit.ts';
import type { Route } from '#shared/http/types.ts';
import { callerOf } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { applySettings, readSettings, settingsPatch } from '#shared/settings/settings.ts';

/** `GET`/`PATCH /v1/settings` (admin): served by `functions/accounts.ts`. */
export const settingsRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/settings',
    access: 'admin',
    contract: {
      summary: 'Server settings: default agent, models, keep-alive',
      tag: 'settings',
      responses: { 200: { description: 'The settings', schema: wire.settings } },
    },
    handler: async () => ({ status: 200, body: await readSettings() }),
  },
  {
    method: 'PATCH',
    path: '/v1/settings',
    access: 'admin',
    contract: {
      summary: 'Change server settings (partial); only what differs is written and audited',
      tag: 'settings',
      body: settingsPatch,
      responses: { 200: { description: 'The settings after the change', schema: wire.settings } },
    },
    handler: async (request) => {
      const patch = parseInput(settingsPatch, request.body, 'body');
      const { settings, changed } = await applySettings(patch);
      if (changed) await audit({ actor: callerOf(request).id, action: 'settings.changed', detail: changed });
      return { status: 200, body: settings };
    },
  },
];

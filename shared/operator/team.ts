import { callApi, UsageError } from '#shared/operator/client.ts';
import {
  type Command,
  type Context,
  listProviders,
  output,
  PROVIDERS,
  providerArg,
  resolveAccount,
  stringOption,
} from '#shared/operator/command.ts';
import { table } from '#shared/operator/io.ts';
import { type KeepaliveView, keepaliveTable, when } from '#shared/operator/views.ts';

/** `--model claude=opus --model codex=gpt-5` → `{ claude: 'opus', codex: 'gpt-5' }`. */
function pairs(ctx: Context, name: string): Record<string, string> {
  const raw = ctx.values[name];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const out: Record<string, string> = {};
  for (const item of list) {
    const text = String(item);
    const at = text.indexOf('=');
    const provider = text.slice(0, at);
    if (at < 1 || !(PROVIDERS as readonly string[]).includes(provider))
      throw new UsageError(`--${name} takes <provider>=<value>, e.g. claude=… (got "${text.slice(0, 40)}")`);
    out[provider] = text.slice(at + 1);
  }
  return out;
}

function positiveInt(ctx: Context, name: string): number | undefined {
  const raw = stringOption(ctx, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,6}$/.test(raw)) throw new UsageError(`--${name} must be a whole number`);
  return Number(raw);
}

interface Settings {
  defaultAgent: string;
  models: Record<string, string | null>;
  keepalive: Record<string, { enabled: boolean; intervalHours: number }>;
}

interface Environment {
  name: string;
  agent?: string;
  delivery?: string;
  providers: Record<string, { model?: string; effort?: string }>;
}

function environmentText(env: Environment): string {
  const rows = Object.entries(env.providers ?? {}).map(([p, v]) => [p, v.model, v.effort]);
  return `environment ${env.name}: agent ${env.agent ?? '-'}, delivery ${env.delivery ?? 'ticket'}\n${table(['PROVIDER', 'MODEL', 'EFFORT'], rows)}`;
}

async function environmentCommand(ctx: Context): Promise<void> {
  const [action = 'list', name] = ctx.positionals;
  const path = (n: string) => `/v1/environments/${encodeURIComponent(n)}`;
  if (action === 'list') {
    const { body } = await callApi<{ environments: Environment[] }>(ctx.client, 'GET', '/v1/environments');
    return output(ctx, body, () =>
      table(
        ['NAME', 'AGENT', 'DELIVERY', 'OVERRIDES'],
        body.environments.map((e) => [
          e.name,
          e.agent,
          e.delivery ?? 'ticket',
          Object.keys(e.providers ?? {}).join(', '),
        ]),
      ),
    );
  }
  if (!name) throw new UsageError(`env ${action} needs <name>`);
  if (action === 'show') {
    const { body } = await callApi<Environment>(ctx.client, 'GET', path(name));
    return output(ctx, body, () => environmentText(body));
  }
  if (action === 'delete') {
    await callApi(ctx.client, 'DELETE', path(name));
    return output(ctx, { deleted: name }, () => `deleted environment ${name}\n`);
  }
  if (action !== 'set') throw new UsageError(`unknown env action "${action.slice(0, 20)}" (list, show, set, delete)`);
  const { body: current } = await callApi<Environment>(ctx.client, 'GET', path(name));
  const providers: Record<string, { model?: string; effort?: string }> = { ...current.providers };
  for (const [p, model] of Object.entries(pairs(ctx, 'model'))) providers[p] = { ...providers[p], model };
  for (const [p, effort] of Object.entries(pairs(ctx, 'effort'))) providers[p] = { ...providers[p], effort };
  const agent = stringOption(ctx, 'agent') ?? current.agent;
  const delivery = stringOption(ctx, 'delivery') ?? current.delivery;
  const { body } = await callApi<Environment>(ctx.client, 'PUT', path(name), {
    body: { ...(agent ? { agent } : {}), ...(delivery ? { delivery } : {}), providers },
  });
  output(ctx, body, () => environmentText(body));
}

export const teamCommands: Command[] = [
  {
    name: 'keepalive',
    args: '[provider] [--enable|--disable] [--interval H]',
    summary: 'show keep-alive state per provider, or change it (interval 1–24 hours)',
    read: true,
    options: { enable: { type: 'boolean' }, disable: { type: 'boolean' }, interval: { type: 'string' } },
    run: async (ctx) => {
      const provider = providerArg(ctx, 0, true);
      const interval = positiveInt(ctx, 'interval');
      const change = ctx.values.enable || ctx.values.disable || interval !== undefined;
      if (ctx.values.enable && ctx.values.disable) throw new UsageError('--enable and --disable together');
      if (change) {
        if (!provider) throw new UsageError('say which provider to change: keepalive <provider> …');
        await callApi(ctx.client, 'PATCH', '/v1/settings', {
          body: {
            keepalive: {
              [provider]: {
                ...(ctx.values.enable ? { enabled: true } : ctx.values.disable ? { enabled: false } : {}),
                ...(interval !== undefined ? { intervalHours: interval } : {}),
              },
            },
          },
        });
      }
      const entries: [string, KeepaliveView][] = (await listProviders(ctx))
        .filter((p) => !provider || p.id === provider)
        .map((p) => [p.id, p.keepalive]);
      output(ctx, { keepalive: Object.fromEntries(entries) }, () => keepaliveTable(entries));
    },
  },
  {
    name: 'settings',
    args: '[--default-agent P] [--model provider=model …]',
    summary: 'show the server settings, or change the default agent and models',
    read: true,
    options: { 'default-agent': { type: 'string' }, model: { type: 'string', multiple: true } },
    run: async (ctx) => {
      const models = pairs(ctx, 'model');
      const defaultAgent = stringOption(ctx, 'default-agent');
      const patch = {
        ...(defaultAgent ? { defaultAgent } : {}),
        ...(Object.keys(models).length
          ? { models: Object.fromEntries(Object.entries(models).map(([p, m]) => [p, m === '' ? null : m])) }
          : {}),
      };
      const { body } = Object.keys(patch).length
        ? await callApi<Settings>(ctx.client, 'PATCH', '/v1/settings', { body: patch })
        : await callApi<Settings>(ctx.client, 'GET', '/v1/settings');
      output(
        ctx,
        body,
        () =>
          `default agent: ${body.defaultAgent}\n${table(
            ['PROVIDER', 'MODEL', 'KEEP-ALIVE'],
            Object.entries(body.models).map(([p, m]) => [
              p,
              m,
              body.keepalive[p]?.enabled ? `every ${body.keepalive[p]?.intervalHours} h` : 'off',
            ]),
          )}`,
      );
    },
  },
  {
    name: 'env',
    args: 'list | show <name> | set <name> [--agent P] [--delivery ticket|proxy] [--model p=m …] [--effort p=e …] | delete <name>',
    summary: 'environments: per-provider model and effort overrides for launches',
    read: true,
    options: {
      agent: { type: 'string' },
      delivery: { type: 'string' },
      model: { type: 'string', multiple: true },
      effort: { type: 'string', multiple: true },
    },
    run: environmentCommand,
  },
  {
    name: 'audit',
    args: '[--limit N] [--before CURSOR]',
    summary: 'the audit log, newest first',
    read: true,
    options: { limit: { type: 'string' }, before: { type: 'string' } },
    run: async (ctx) => {
      const limit = positiveInt(ctx, 'limit');
      const { body } = await callApi<{ events: Record<string, unknown>[]; next?: string }>(
        ctx.client,
        'GET',
        '/v1/audit',
        {
          query: { limit: limit === undefined ? undefined : String(limit), before: stringOption(ctx, 'before') },
        },
      );
      output(
        ctx,
        body,
        () =>
          table(
            ['AT', 'ACTOR', 'ACTION', 'PROVIDER', 'ACCOUNT'],
            body.events.map((e) => [
              when(e.at as string),
              e.actor as string,
              e.action as string,
              e.provider as string,
              e.accountId as string,
            ]),
          ) + (body.next ? `next page: --before ${body.next}\n` : ''),
      );
    },
  },
  {
    name: 'finance',
    args: '[<provider> [--billing subscription|usage|none] [--status incomplete|complete] [--plan P] [--budget USD] [--cost-center C] [--owner O]]',
    summary: 'finance records per provider, or change one',
    read: true,
    options: {
      billing: { type: 'string' },
      status: { type: 'string' },
      plan: { type: 'string' },
      budget: { type: 'string' },
      'cost-center': { type: 'string' },
      owner: { type: 'string' },
    },
    run: async (ctx) => {
      const provider = providerArg(ctx, 0, true);
      if (provider) {
        const budget = stringOption(ctx, 'budget');
        if (budget !== undefined && !/^\d+(\.\d+)?$/.test(budget))
          throw new UsageError('--budget must be a number of dollars');
        const patch = Object.fromEntries(
          Object.entries({
            billing: stringOption(ctx, 'billing'),
            status: stringOption(ctx, 'status'),
            plan: stringOption(ctx, 'plan'),
            monthlyBudgetUsd: budget === undefined ? undefined : Number(budget),
            costCenter: stringOption(ctx, 'cost-center'),
            owner: stringOption(ctx, 'owner'),
          }).filter(([, v]) => v !== undefined),
        );
        if (Object.keys(patch).length === 0) throw new UsageError('finance <provider> needs at least one change');
        await callApi(ctx.client, 'PATCH', `/v1/finance/${provider}`, { body: patch });
      }
      const { body } = await callApi<{ records: Record<string, unknown>[] }>(ctx.client, 'GET', '/v1/finance');
      output(ctx, body, () =>
        table(
          ['PROVIDER', 'BILLING', 'STATUS', 'PLAN', 'BUDGET', 'COST CENTER', 'OWNER'],
          body.records.map((r) => [
            r.provider as string,
            r.billing as string,
            r.status as string,
            r.plan as string,
            r.monthlyBudgetUsd === undefined || r.monthlyBudgetUsd === null ? null : `$${r.monthlyBudgetUsd}`,
            r.costCenter as string,
            r.owner as string,
          ]),
        ),
      );
    },
  },
  {
    name: 'preferences',
    args: '[<provider> [--account A|none] [--model M] [--effort E]]',
    summary: 'your own launch preferences (keyfleet me preferences)',
    read: true,
    options: { account: { type: 'string' }, model: { type: 'string' }, effort: { type: 'string' } },
    run: async (ctx) => {
      type Prefs = { providers: Record<string, { preferredAccountId?: string; model?: string; effort?: string }> };
      const provider = providerArg(ctx, 0, true);
      let { body } = await callApi<Prefs>(ctx.client, 'GET', '/v1/me/preferences');
      const account = stringOption(ctx, 'account');
      const model = stringOption(ctx, 'model');
      const effort = stringOption(ctx, 'effort');
      if (provider && (account !== undefined || model !== undefined || effort !== undefined)) {
        const entry = { ...body.providers[provider] };
        if (account !== undefined) {
          if (account === 'none') delete entry.preferredAccountId;
          else
            entry.preferredAccountId = (
              await resolveAccount({ ...ctx, personal: false }, provider, account).catch(() =>
                resolveAccount({ ...ctx, personal: true }, provider, account),
              )
            ).id;
        }
        // An empty value clears the preference.
        if (model !== undefined) entry.model = model || undefined;
        if (effort !== undefined) entry.effort = effort || undefined;
        ({ body } = await callApi<Prefs>(ctx.client, 'PUT', '/v1/me/preferences', {
          body: { providers: { ...body.providers, [provider]: entry } },
        }));
      }
      output(ctx, body, () =>
        table(
          ['PROVIDER', 'PREFERRED ACCOUNT', 'MODEL', 'EFFORT'],
          Object.entries(body.providers).map(([p, v]) => [p, v.preferredAccountId, v.model, v.effort]),
        ),
      );
    },
  },
];

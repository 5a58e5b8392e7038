import { callApi, UsageError } from '#shared/operator/client.ts';
import {
  type Command,
  type Context,
  output,
  providerArg,
  resolveAccount,
  stringOption,
} from '#shared/operator/command.ts';
import { table } from '#shared/operator/io.ts';
import { when } from '#shared/operator/views.ts';

interface LaunchView {
  id: string;
  provider: string;
  accountId: string;
  accountLabel: string;
  callerId?: string;
  status?: string;
  taskArn: string;
  createdAt?: string;
  stoppedAt?: string;
  expiresAt: string;
  warnings: string[];
}

function list(ctx: Context, name: string): string[] {
  const raw = ctx.values[name];
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
}

function launchText(launch: LaunchView): string {
  const lines = [
    `launch ${launch.id}: ${launch.provider} with "${launch.accountLabel}" (${launch.accountId})`,
    `task ${launch.taskArn}${launch.status ? `, ${launch.status}` : ''}, ticket expires ${when(launch.expiresAt)}`,
    ...launch.warnings.map((w) => `warning: ${w}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** `--env K=V` → `{ K: 'V' }`. */
function variables(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list(ctx, 'env')) {
    const at = item.indexOf('=');
    if (at < 1) throw new UsageError(`--env takes NAME=value (got "${item.slice(0, 40)}")`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

function ecsPart(ctx: Context): Record<string, unknown> {
  const environment = variables(ctx);
  const ecs = Object.fromEntries(
    Object.entries({
      cluster: stringOption(ctx, 'cluster'),
      taskDefinition: stringOption(ctx, 'task-definition'),
      container: stringOption(ctx, 'container'),
      subnets: list(ctx, 'subnet').length ? list(ctx, 'subnet') : undefined,
      securityGroups: list(ctx, 'security-group').length ? list(ctx, 'security-group') : undefined,
      assignPublicIp: ctx.values['public-ip'] ? true : undefined,
      command: ctx.positionals.length > 1 ? ctx.positionals.slice(1) : undefined,
      environment: Object.keys(environment).length ? environment : undefined,
    }).filter(([, v]) => v !== undefined),
  );
  return ecs;
}

export const launchCommands: Command[] = [
  {
    name: 'launch',
    args: '<provider> [--environment E] [--account A] [--model M] [--effort E] [--max-minutes N] [--delivery ticket|proxy] [--cluster C --task-definition T --container C --subnet S … --security-group G … --public-ip] [--env K=V …] [-- command …]',
    summary: 'launch an agent task with an account chosen by the resolution order',
    options: {
      environment: { type: 'string' },
      account: { type: 'string' },
      model: { type: 'string' },
      effort: { type: 'string' },
      'max-minutes': { type: 'string' },
      delivery: { type: 'string' },
      cluster: { type: 'string' },
      'task-definition': { type: 'string' },
      container: { type: 'string' },
      subnet: { type: 'string', multiple: true },
      'security-group': { type: 'string', multiple: true },
      'public-ip': { type: 'boolean' },
      env: { type: 'string', multiple: true },
    },
    details: 'In local mode the words after -- are the command the local task runner starts.',
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const accountRef = stringOption(ctx, 'account');
      const maxMinutes = stringOption(ctx, 'max-minutes');
      if (maxMinutes !== undefined && !/^\d{1,5}$/.test(maxMinutes))
        throw new UsageError('--max-minutes must be a whole number');
      const preferredAccountId = accountRef
        ? (
            await resolveAccount(ctx, provider, accountRef).catch(() =>
              resolveAccount({ ...ctx, personal: true }, provider, accountRef),
            )
          ).id
        : undefined;
      const body = Object.fromEntries(
        Object.entries({
          provider,
          environment: stringOption(ctx, 'environment'),
          preferredAccountId,
          model: stringOption(ctx, 'model'),
          effort: stringOption(ctx, 'effort'),
          maxDurationMinutes: maxMinutes === undefined ? undefined : Number(maxMinutes),
          delivery: stringOption(ctx, 'delivery'),
          ecs: ecsPart(ctx),
        }).filter(([, v]) => v !== undefined),
      );
      const { body: answer } = await callApi<{ launch: LaunchView }>(ctx.client, 'POST', '/v1/launches', { body });
      output(ctx, answer, () => launchText(answer.launch));
    },
  },
  {
    name: 'launches',
    args: '[id] [--provider P] [--account ID] [--limit N] [--before CURSOR]',
    summary: 'recent launches, newest first (admins see all, members their own), or one launch',
    read: true,
    options: {
      provider: { type: 'string' },
      account: { type: 'string' },
      limit: { type: 'string' },
      before: { type: 'string' },
    },
    run: async (ctx) => {
      const id = ctx.positionals[0];
      if (id) {
        const { body } = await callApi<{ launch: LaunchView }>(
          ctx.client,
          'GET',
          `/v1/launches/${encodeURIComponent(id)}`,
        );
        return output(ctx, body, () => launchText(body.launch));
      }
      const { body } = await callApi<{ launches: LaunchView[]; next?: string }>(ctx.client, 'GET', '/v1/launches', {
        query: {
          provider: stringOption(ctx, 'provider'),
          accountId: stringOption(ctx, 'account'),
          limit: stringOption(ctx, 'limit'),
          before: stringOption(ctx, 'before'),
        },
      });
      output(
        ctx,
        body,
        () =>
          table(
            ['CREATED', 'ID', 'PROVIDER', 'ACCOUNT', 'CALLER', 'STATUS', 'STOPPED', 'WARNINGS'],
            body.launches.map((l) => [
              when(l.createdAt),
              l.id,
              l.provider,
              l.accountLabel,
              l.callerId,
              l.status,
              when(l.stoppedAt),
              l.warnings.length,
            ]),
          ) + (body.next ? `next page: --before ${body.next}\n` : ''),
      );
    },
  },
];

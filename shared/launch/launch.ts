import * as z from 'zod';
import type { Account } from '#shared/accounts/model.ts';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { audit } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#shared/errors.ts';
import { ACCOUNT_ID, effortLevel, modelId } from '#shared/http/schemas.ts';
import type { Caller } from '#shared/http/types.ts';
import { ensureFresh } from '#shared/launch/freshen.ts';
import { choiceFor, type Environment, getEnvironment, getPreferences } from '#shared/launch/preferences.ts';
import {
  createTicket,
  hashOf,
  type LaunchRecord,
  newLaunchId,
  newTicket,
  putLaunch,
  TASK_MARGIN_MS,
  updateLaunch,
} from '#shared/launch/records.ts';
import { type Delivery, PROXY_CONTAINER, type RunRequest, runnerDelivers, taskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { redactText } from '#shared/log/redact.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider, refreshTokenShareable } from '#shared/providers/index.ts';
import { PROVIDER_IDS, type ProviderDefinition } from '#shared/providers/types.ts';
import { isProxyProvider } from '#shared/proxy/routes.ts';
import { getProviderSettings } from '#shared/settings/store.ts';

/** Variables a caller may not set: Keyfleet's own, the cloud's, and every agent CLI's. */
const RESERVED =
  /^(KEYFLEET_|AWS_|ECS_|ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_|GEMINI_|GOOGLE_|XAI_|GROK_|BOBSHELL_|BOB_|NODE_OPTIONS$|HOME$|PATH$)/;
/** Names that look like they hold a credential. */
const SECRET_NAME = /(SECRET|TOKEN|PASSW|API_?KEY|PRIVATE|CREDENTIAL|AUTH|COOKIE|SESSION|_KEY$)/i;

const envVars = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'names are letters, digits and _'), z.string().max(4096))
  .superRefine((vars, ctx) => {
    const entries = Object.entries(vars);
    if (entries.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 variables' });
    for (const [name, value] of entries) {
      if (RESERVED.test(name))
        ctx.addIssue({ code: 'custom', path: [name], message: 'is reserved for Keyfleet and the agent CLI' });
      else if (SECRET_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'looks like a secret; secrets never travel in RunTask (connect an account instead)',
        });
      } else if (redactText(value) !== value) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'has a value that looks like a credential' });
      }
    }
  });

export const launchBody = z.strictObject({
  provider: z.enum(PROVIDER_IDS),
  environment: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be an environment name')
    .optional(),
  preferredAccountId: z.string().regex(ACCOUNT_ID, 'must be an account id').optional(),
  model: modelId.optional(),
  effort: effortLevel.optional(),
  maxDurationMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(120),
  delivery: z.enum(['ticket', 'proxy']).optional(),
  ecs: z
    .strictObject({
      cluster: z.string().min(1).max(2048).optional(),
      taskDefinition: z.string().min(1).max(2048).optional(),
      container: z
        .string()
        .min(1)
        .max(255)
        .refine((name) => name !== PROXY_CONTAINER, `must not be the ${PROXY_CONTAINER} sidecar`)
        .optional(),
      subnets: z
        .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id'))
        .min(1)
        .max(16)
        .optional(),
      securityGroups: z
        .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id'))
        .max(5)
        .optional(),
      assignPublicIp: z.boolean().optional(),
      command: z.array(z.string().max(4096)).min(1).max(64).optional(),
      environment: envVars.optional(),
    })
    .default({}),
});
export type LaunchBody = z.infer<typeof launchBody>;

/** API.md launch response. */
export interface LaunchView {
  id: string;
  provider: string;
  accountId: string;
  accountLabel: string;
  taskArn: string;
  expiresAt: string;
  warnings: string[];
}

/** Leeway between "the token covers the task" and the task's declared end. */
const FRESHNESS_MARGIN_MS = 10 * 60 * 1000;
/** An access token with less than this left is as good as expired for a task about to start. */
const MIN_USABLE_MS = 60 * 1000;

function familyOf(taskDefinition: string): string {
  const name = taskDefinition.includes(':task-definition/')
    ? (taskDefinition.split(':task-definition/')[1] ?? '')
    : taskDefinition;
  return name.split(':')[0] ?? '';
}

function clusterName(cluster: string): string {
  return cluster.includes(':cluster/') ? (cluster.split(':cluster/')[1] ?? '') : cluster;
}

function checkEcs(body: LaunchBody): void {
  const { ecs } = body;
  if (taskRunner().kind === 'local') {
    if (!ecs.command)
      throw new ValidationError('ecs.command is required in local mode', [
        { path: 'body.ecs.command', message: 'is required in local mode' },
      ]);
    return;
  }
  const missing = (['cluster', 'taskDefinition', 'container', 'subnets'] as const).filter((k) => ecs[k] === undefined);
  if (missing.length > 0) {
    throw new ValidationError(
      `ecs.${missing.join(', ecs.')} required`,
      missing.map((k) => ({ path: `body.ecs.${k}`, message: 'is required' })),
    );
  }
  const { launchClusters, launchTaskFamilies } = config();
  if (launchClusters.length > 0 && !launchClusters.some((c) => clusterName(c) === clusterName(ecs.cluster ?? ''))) {
    throw new ForbiddenError('Launches may not use this cluster.');
  }
  if (launchTaskFamilies.length > 0 && !launchTaskFamilies.includes(familyOf(ecs.taskDefinition ?? ''))) {
    throw new ForbiddenError('Launches may not run this task definition family.');
  }
}

/** Runs the task; a launch whose task did not start is marked `failed` (its ticket was never handed out). */
async function startTask(request: RunRequest): Promise<string> {
  try {
    return await taskRunner().run(request);
  } catch (error) {
    await updateLaunch(request.launchId, { status: 'failed' }).catch((failure: unknown) =>
      logger.warn('could not mark the launch failed', { launchId: request.launchId, error: failure }),
    );
    throw error;
  }
}

/** What a launch needs from its account's token beyond being valid now. */
interface Coverage {
  provider: ProviderDefinition;
  chosen: Account;
  minutes: number;
  delivery: Delivery;
  now: number;
}

/** An OAuth account whose token cannot be used now refuses the launch. */
function checkUsable(provider: ProviderDefinition, account: Account, now: number): void {
  if (account.status === 'needs_reconnect') {
    throw new AccountUnusableError(`The ${provider.name} account "${account.label}" needs to be signed in again.`);
  }
  const expires = account.tokenExpiresAt ? Date.parse(account.tokenExpiresAt) : 0;
  if (expires <= now + MIN_USABLE_MS) {
    const reason = account.lastError ? ` (${account.lastError.replace(/\.$/, '')})` : '';
    throw new AccountUnusableError(
      `The ${provider.name} account "${account.label}" has an expired access token that could not be refreshed${reason}. Try again later, or choose another account.`,
    );
  }
}

/** Ticket delivery, when the token ends before the task: what the task gets instead, and the warning. */
function shortToken(provider: ProviderDefinition, account: Account, minutes: number) {
  if (refreshTokenShareable(provider)) {
    return {
      deliverRefreshToken: true,
      warning: `${provider.name} access tokens last about an hour, less than this task's ${minutes} minutes: the task receives the account's refresh token so the CLI can renew it (its refresh tokens do not rotate, so the pool keeps working).`,
    };
  }
  if (!provider.renewsThroughKeyfleet) {
    return {
      deliverRefreshToken: false,
      warning: `The ${provider.name} access token expires at ${account.tokenExpiresAt ?? 'an unknown time'}, before this task's ${minutes} minutes end; the CLI cannot renew it, so the task may lose access.`,
    };
  }
  if (account.status !== 'connected') {
    return {
      deliverRefreshToken: false,
      warning: `The ${provider.name} access token could not be refreshed and expires at ${account.tokenExpiresAt}; the task may lose access if Keyfleet cannot refresh it by then.`,
    };
  }
  return { deliverRefreshToken: false, warning: undefined };
}

/**
 * Makes sure the OAuth account's access token is usable, refreshing it first. A token that has
 * already expired and could not be refreshed refuses the launch (`account_unusable`). Ticket
 * delivery wants the token to cover the whole task; one that cannot is a warning (or, where refresh
 * tokens do not rotate, the refresh token goes to the task). Proxy delivery needs neither: the
 * proxy renews the token through the task token whenever it runs low.
 */
async function coverTask({ provider, chosen, minutes, delivery, now }: Coverage) {
  const durationMs = minutes * 60_000;
  const wanted = delivery === 'proxy' ? FRESHNESS_MARGIN_MS : durationMs + FRESHNESS_MARGIN_MS;
  const account = await ensureFresh(provider.id, chosen.id, wanted);
  checkUsable(provider, account, now);
  const expires = account.tokenExpiresAt ? Date.parse(account.tokenExpiresAt) : 0;
  if (delivery === 'proxy' || expires >= now + durationMs + FRESHNESS_MARGIN_MS) {
    return { account, warnings: [] as string[], deliverRefreshToken: false };
  }
  const { deliverRefreshToken, warning } = shortToken(provider, account, minutes);
  return { account, warnings: warning ? [warning] : [], deliverRefreshToken };
}

/** The launch's delivery: its own, else its environment's, else `ticket`. */
function deliveryFor(body: LaunchBody, environment: Environment | undefined): Delivery {
  return body.delivery ?? environment?.delivery ?? 'ticket';
}

/**
 * `proxy` serves the providers and account kinds `keyfleet proxy` knows (Claude, Codex and Gemini;
 * OAuth or API key), on a runner that can start the proxy; anything else is a `conflict`, since the
 * task could not reach its provider (or would get the ticket itself).
 */
function checkProxyable(provider: ProviderDefinition, account: Account | undefined, delivery: Delivery): void {
  if (delivery !== 'proxy') return;
  if (!runnerDelivers('proxy')) {
    throw new ConflictError(
      `This server's ${taskRunner().kind} task runner cannot start a keyfleet proxy beside the agent. Launch with delivery "ticket".`,
    );
  }
  if (!isProxyProvider(provider.id)) {
    throw new ConflictError(
      `${provider.name} cannot use proxy delivery: keyfleet proxy serves Claude, Codex and Gemini only. Launch with delivery "ticket".`,
    );
  }
  if (account && account.kind !== 'oauth' && account.kind !== 'api_key') {
    throw new ConflictError(
      `The ${provider.name} account "${account.label}" has no credential for the proxy to hold (it is keyless). Launch with delivery "ticket".`,
    );
  }
}

/** The launch's account, model and effort, chosen by the resolution order and the precedence rules. */
async function choose(caller: Caller, body: LaunchBody, provider: ProviderDefinition) {
  const environment = body.environment ? await getEnvironment(body.environment) : await getEnvironment('default');
  if (body.environment && !environment) throw new NotFoundError(`No environment named "${body.environment}".`);
  const delivery = deliveryFor(body, environment);
  checkProxyable(provider, undefined, delivery);
  const preferences = await getPreferences(caller.id);
  const userChoice = choiceFor(preferences, provider.id);
  const envChoice = choiceFor(environment, provider.id);
  const { account, step, warnings } = await resolveAccount({
    provider: provider.id,
    taskPreferredAccountId: body.preferredAccountId,
    userPreferredAccountId: preferences.providers[provider.id]?.preferredAccountId,
    callerId: caller.id,
  });
  checkProxyable(provider, account, delivery);
  const settings = await getProviderSettings(provider.id);
  const model = body.model ?? userChoice.model ?? envChoice.model ?? settings.model ?? null;
  const effort = body.effort ?? userChoice.effort ?? envChoice.effort ?? account.effort ?? null;
  checkEffort({ provider, model, effort, path: body.effort !== undefined ? 'body.effort' : 'effort' });
  return { account, step, delivery, model, effort, poolWarnings: warnings };
}

/**
 * Starts an agent task: chooses the account (resolution order) and the delivery (launch →
 * environment → `ticket`), settles model and effort (task → user → environment → provider /
 * account), makes sure an OAuth token is usable (and, with ticket delivery, covers the task),
 * creates the single-use ticket and asks the runner (ECS RunTask, or local mode's runner) to start
 * the task with nothing but the ticket and Keyfleet's URL — for proxy delivery, in the sidecar only.
 */
export async function launchTask(caller: Caller, body: LaunchBody): Promise<LaunchView> {
  const provider = getProvider(body.provider);
  checkEcs(body);
  const apiUrl = config().apiUrl;
  if (!apiUrl) throw new ConflictError('KEYFLEET_API_URL is not configured, so a task could not reach Keyfleet.');
  const { account: chosen, step, delivery, model, effort, poolWarnings } = await choose(caller, body, provider);

  const now = Date.now();
  const minutes = body.maxDurationMinutes;
  const covered =
    chosen.kind === 'oauth'
      ? await coverTask({ provider, chosen, minutes, delivery, now })
      : { account: chosen, warnings: [], deliverRefreshToken: false };
  const { account, deliverRefreshToken } = covered;
  const warnings = [...poolWarnings, ...covered.warnings];

  const ticket = newTicket();
  const launch: LaunchRecord = {
    id: newLaunchId(),
    provider: provider.id,
    accountId: account.id,
    accountLabel: account.label,
    callerId: caller.id,
    model,
    effort,
    maxDurationMinutes: minutes,
    warnings,
    deliverRefreshToken,
    delivery,
    taskArn: null,
    ticketHash: hashOf(ticket),
    taskTokenHash: null,
    status: 'starting',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + minutes * 60_000 + TASK_MARGIN_MS).toISOString(),
  };
  await putLaunch(launch);
  await createTicket(launch.id, ticket, now);
  const { id } = launch;
  const taskArn = await startTask({
    launchId: id,
    provider: provider.id,
    accountId: account.id,
    delivery,
    ticket,
    apiUrl,
    ecs: body.ecs,
  });
  await updateLaunch(id, { taskArn });
  await audit({
    actor: caller.id,
    action: 'launch.started',
    provider: provider.id,
    accountId: account.id,
    detail: {
      launchId: id,
      taskArn,
      step,
      delivery,
      model,
      effort,
      maxDurationMinutes: minutes,
      refreshTokenDelivered: deliverRefreshToken,
      warnings,
    },
  });
  const { accountLabel, expiresAt } = launch;
  return { id, provider: provider.id, accountId: account.id, accountLabel, taskArn, expiresAt, warnings };
}

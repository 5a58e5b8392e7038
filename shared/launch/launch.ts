import { z } from 'zod';
import type { Account } from '#shared/accounts/model.ts';
import { resolveAccount } from '#shared/accounts/resolve.ts';
import { getProviderSettings } from '#shared/accounts/store.ts';
import { audit } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#shared/errors.ts';
import { effortLevel, modelId } from '#shared/http/schemas.ts';
import type { Caller } from '#shared/http/types.ts';
import { ensureFresh } from '#shared/launch/freshen.ts';
import { choiceFor, getEnvironment, getPreferences } from '#shared/launch/preferences.ts';
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
import { type RunRequest, taskRunner } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { redactText } from '#shared/log/redact.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider } from '#shared/providers/index.ts';
import { PROVIDER_IDS, type ProviderDefinition } from '#shared/providers/types.ts';

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
  preferredAccountId: z
    .string()
    .regex(/^acc_[a-f0-9]{20}$/, 'must be an account id')
    .optional(),
  model: modelId.optional(),
  effort: effortLevel.optional(),
  maxDurationMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(120),
  ecs: z
    .strictObject({
      cluster: z.string().min(1).max(2048).optional(),
      taskDefinition: z.string().min(1).max(2048).optional(),
      container: z.string().min(1).max(255).optional(),
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

/**
 * Makes sure the OAuth account's access token covers the task, refreshing it first. A token that
 * has already expired and could not be refreshed refuses the launch (`account_unusable`); one that
 * cannot cover the whole task is a warning (or, for Gemini, the refresh token goes to the task).
 */
async function coverTask(
  provider: ProviderDefinition,
  chosen: Account,
  minutes: number,
  now: number,
): Promise<{ account: Account; warnings: string[]; deliverRefreshToken: boolean }> {
  const durationMs = minutes * 60_000;
  const account = await ensureFresh(provider.id, chosen.id, durationMs + FRESHNESS_MARGIN_MS);
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
  const warnings: string[] = [];
  let deliverRefreshToken = false;
  if (expires < now + durationMs + FRESHNESS_MARGIN_MS) {
    if (provider.id === 'gemini') {
      deliverRefreshToken = true;
      warnings.push(
        `Gemini access tokens last about an hour, less than this task's ${minutes} minutes: the task receives the account's refresh token so the CLI can renew it (Google's refresh tokens do not rotate, so the pool keeps working).`,
      );
    } else if (provider.id === 'claude' || provider.id === 'bob') {
      warnings.push(
        `The ${provider.name} access token expires at ${account.tokenExpiresAt ?? 'an unknown time'}, before this task's ${minutes} minutes end; the CLI cannot renew it, so the task may lose access.`,
      );
    } else if (account.status !== 'connected') {
      warnings.push(
        `The ${provider.name} access token could not be refreshed and expires at ${account.tokenExpiresAt}; the task may lose access if Keyfleet cannot refresh it by then.`,
      );
    }
  }
  return { account, warnings, deliverRefreshToken };
}

/**
 * Starts an agent task: chooses the account (resolution order), settles model and effort
 * (task → user → environment → provider / account), makes sure an OAuth token covers the task,
 * creates the single-use ticket and asks the runner (ECS RunTask, or local mode's runner) to start
 * the task with nothing but the ticket and Keyfleet's URL.
 */
export async function launchTask(caller: Caller, body: LaunchBody): Promise<LaunchView> {
  const provider = getProvider(body.provider);
  checkEcs(body);
  const apiUrl = config().apiUrl;
  if (!apiUrl) throw new ConflictError('KEYFLEET_API_URL is not configured, so a task could not reach Keyfleet.');

  const environment = body.environment ? await getEnvironment(body.environment) : await getEnvironment('default');
  if (body.environment && !environment) throw new NotFoundError(`No environment named "${body.environment}".`);
  const preferences = await getPreferences(caller.id);
  const userChoice = choiceFor(preferences, provider.id);
  const envChoice = choiceFor(environment, provider.id);

  const { account: chosen, step } = await resolveAccount({
    provider: provider.id,
    taskPreferredAccountId: body.preferredAccountId,
    userPreferredAccountId: preferences.providers[provider.id]?.preferredAccountId,
    callerId: caller.id,
  });
  const settings = await getProviderSettings(provider.id);
  const model = body.model ?? userChoice.model ?? envChoice.model ?? settings.model ?? null;
  const effort = body.effort ?? userChoice.effort ?? envChoice.effort ?? chosen.effort ?? null;
  checkEffort(provider, model, effort, body.effort !== undefined ? 'body.effort' : 'effort');

  const now = Date.now();
  const durationMs = body.maxDurationMinutes * 60_000;
  const { account, warnings, deliverRefreshToken } =
    chosen.kind === 'oauth'
      ? await coverTask(provider, chosen, body.maxDurationMinutes, now)
      : { account: chosen, warnings: [], deliverRefreshToken: false };

  const id = newLaunchId();
  const ticket = newTicket();
  const launch: LaunchRecord = {
    id,
    provider: provider.id,
    accountId: account.id,
    accountLabel: account.label,
    callerId: caller.id,
    model,
    effort,
    maxDurationMinutes: body.maxDurationMinutes,
    warnings,
    deliverRefreshToken,
    delivery: 'ticket',
    taskArn: null,
    ticketHash: hashOf(ticket),
    taskTokenHash: null,
    status: 'starting',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + durationMs + TASK_MARGIN_MS).toISOString(),
  };
  await putLaunch(launch);
  await createTicket(id, ticket, now);
  const taskArn = await startTask({
    launchId: id,
    provider: provider.id,
    accountId: account.id,
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
      model,
      effort,
      maxDurationMinutes: body.maxDurationMinutes,
      refreshTokenDelivered: deliverRefreshToken,
      warnings,
    },
  });
  return {
    id,
    provider: provider.id,
    accountId: account.id,
    accountLabel: account.label,
    taskArn,
    expiresAt: launch.expiresAt,
    warnings,
  };
}

import * as z from 'zod/mini';
import type { Account } from '#shared/accounts/model.ts';
import { type ResolutionStep, resolveAccount } from '#shared/accounts/resolve.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import { audit, auditEntry } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#shared/errors.ts';
import { ACCOUNT_ID, effortLevel, modelId } from '#shared/http/schemas.ts';
import type { Caller } from '#shared/http/types.ts';
import { DEFAULT_ENVIRONMENT, type Environment, readLaunchSettings } from '#shared/launch/environments.ts';
import { freshen } from '#shared/launch/freshen.ts';
import { hashOf } from '#shared/launch/hash.ts';
import { listingEntryItems } from '#shared/launch/listing.ts';
import { choiceFor } from '#shared/launch/preferences.ts';
import {
  type LaunchRecord,
  launchItem,
  launchTtl,
  newLaunchId,
  TASK_MARGIN_MS,
  updateLaunch,
} from '#shared/launch/records.ts';
import { type Delivery, PROXY_CONTAINER, type RunRequest, runnerDelivers, taskRunner } from '#shared/launch/runner.ts';
import { newTicket, ticketItem } from '#shared/launch/tickets.ts';
import { logger } from '#shared/log/logger.ts';
import { redactText } from '#shared/log/redact.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider, refreshTokenShareable } from '#shared/providers/index.ts';
import { PROVIDER_IDS, type ProviderDefinition, type ProviderId } from '#shared/providers/types.ts';
import { isProxyProvider } from '#shared/proxy/routes.ts';
import { putAll } from '#shared/store/batch.ts';

/** Variables a caller may not set: Keyfleet's own, the cloud's, and every agent CLI's. */
const RESERVED =
  /^(KEYFLEET_|AWS_|ECS_|ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_|GEMINI_|GOOGLE_|XAI_|GROK_|BOBSHELL_|BOB_|NODE_OPTIONS$|HOME$|PATH$)/;
/** Names that look like they hold a credential. */
const SECRET_NAME = /(SECRET|TOKEN|PASSW|API_?KEY|PRIVATE|CREDENTIAL|AUTH|COOKIE|SESSION|_KEY$)/i;

const envVars = z
  .record(
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'names are letters, digits and _')),
    z.string().check(z.maxLength(4096)),
  )
  .check(
    z.superRefine((vars, ctx) => {
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
    }),
  );

export const launchBody = z.strictObject({
  provider: z.enum(PROVIDER_IDS),
  environment: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be an environment name'))),
  preferredAccountId: z.optional(z.string().check(z.regex(ACCOUNT_ID, 'must be an account id'))),
  model: z.optional(modelId),
  effort: z.optional(effortLevel),
  maxDurationMinutes: z._default(z.int().check(z.minimum(1), z.maximum(24 * 60)), 120),
  delivery: z.optional(z.enum(['ticket', 'proxy'])),
  ecs: z._default(
    z.strictObject({
      cluster: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
      taskDefinition: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
      container: z.optional(
        z.string().check(
          z.minLength(1),
          z.maxLength(255),
          z.refine((name) => name !== PROXY_CONTAINER, `must not be the ${PROXY_CONTAINER} sidecar`),
        ),
      ),
      subnets: z.optional(
        z
          .array(z.string().check(z.regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id')))
          .check(z.minLength(1), z.maxLength(16)),
      ),
      securityGroups: z.optional(
        z.array(z.string().check(z.regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id'))).check(z.maxLength(5)),
      ),
      assignPublicIp: z.optional(z.boolean()),
      command: z.optional(z.array(z.string().check(z.maxLength(4096))).check(z.minLength(1), z.maxLength(64))),
      environment: z.optional(envVars),
    }),
    {},
  ),
});
export type LaunchBody = z.infer<typeof launchBody>;

/** API.md launch response. */
export interface LaunchView {
  id: string;
  provider: ProviderId;
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

/** Best effort: marks a launch that will have no task `failed`, with a `launch.failed` event naming why. */
async function abandonLaunch(
  launch: Pick<LaunchRecord, 'id' | 'provider' | 'accountId'>,
  actor: string,
  error: unknown,
) {
  const { id: launchId, provider, accountId } = launch;
  const reason = (error as { code?: unknown }).code;
  await Promise.all([
    updateLaunch(launchId, { status: 'failed' }),
    audit({
      actor,
      action: 'launch.failed',
      provider,
      accountId,
      detail: { launchId, error: typeof reason === 'string' ? reason : 'internal_error' },
    }),
  ]).catch((failure: unknown) => logger.warn('could not record the failed launch', { launchId, error: failure }));
}

/**
 * Runs the task; a launch whose task did not start is marked `failed` (its ticket was never handed
 * out) and gets a `launch.failed` event beside its `launch.started` one, naming the error's code.
 */
async function startTask(request: RunRequest, actor: string): Promise<string> {
  try {
    return await taskRunner().run(request);
  } catch (error) {
    await abandonLaunch(
      { id: request.launchId, provider: request.provider, accountId: request.accountId },
      actor,
      error,
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
  const account = await freshen(chosen, wanted);
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

/** What {@link choose} settled. */
interface Choice {
  account: Account;
  step: ResolutionStep;
  delivery: Delivery;
  model: string | null;
  effort: string | null;
  poolWarnings: string[];
}

/**
 * The launch's account, model and effort, chosen by the resolution order and the precedence rules.
 * Two reads, side by side: one BatchGetItem (the environment and the caller's preferences) and one
 * Query (the provider's partition: accounts, settings, pointers); then the cursor step, if the
 * round-robin pool is reached.
 */
async function choose(caller: Caller, body: LaunchBody, provider: ProviderDefinition): Promise<Choice> {
  const [{ environment, preferences }, state] = await Promise.all([
    readLaunchSettings(caller.id, body.environment ?? DEFAULT_ENVIRONMENT),
    loadProviderState(provider.id),
  ]);
  if (body.environment && !environment) throw new NotFoundError(`No environment named "${body.environment}".`);
  const delivery = deliveryFor(body, environment);
  checkProxyable(provider, undefined, delivery);
  const userChoice = choiceFor(preferences, provider.id);
  const envChoice = choiceFor(environment, provider.id);
  const { account, step, warnings } = await resolveAccount({
    provider: provider.id,
    taskPreferredAccountId: body.preferredAccountId,
    userPreferredAccountId: preferences.providers[provider.id]?.preferredAccountId,
    callerId: caller.id,
    state,
  });
  checkProxyable(provider, account, delivery);
  const model = body.model ?? userChoice.model ?? envChoice.model ?? state.settings.model ?? null;
  const effort = body.effort ?? userChoice.effort ?? envChoice.effort ?? account.effort ?? null;
  checkEffort({ provider, model, effort, path: body.effort !== undefined ? 'body.effort' : 'effort' });
  return { account, step, delivery, model, effort, poolWarnings: warnings };
}

/** The account the task will use, after making sure its token is usable (OAuth), and the warnings. */
async function covered(provider: ProviderDefinition, choice: Choice, minutes: number, now: number) {
  const { account: chosen, delivery, poolWarnings } = choice;
  const coverage =
    chosen.kind === 'oauth'
      ? await coverTask({ provider, chosen, minutes, delivery, now })
      : { account: chosen, warnings: [], deliverRefreshToken: false };
  return { ...coverage, warnings: [...poolWarnings, ...coverage.warnings] };
}

/** The new launch's record: `starting`, no task yet, its deadline the task's plus the margin. */
function newLaunch(
  caller: Caller,
  choice: Choice,
  coverage: Awaited<ReturnType<typeof covered>>,
  times: { minutes: number; now: number },
): LaunchRecord {
  const { account, warnings, deliverRefreshToken } = coverage;
  const { minutes, now } = times;
  return {
    id: newLaunchId(),
    provider: account.provider,
    accountId: account.id,
    accountLabel: account.label,
    callerId: caller.id,
    model: choice.model,
    effort: choice.effort,
    maxDurationMinutes: minutes,
    warnings,
    deliverRefreshToken,
    delivery: choice.delivery,
    taskArn: null,
    ticketHash: null,
    taskTokenHash: null,
    status: 'starting',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + minutes * 60_000 + TASK_MARGIN_MS).toISOString(),
  };
}

/**
 * Stores the launch, its listing entries, its ticket (only the hash of its value, with the facts
 * its redemption needs) and its `launch.started` event with one BatchWriteItem, before the task
 * that will redeem the ticket exists. None needs a condition: the launch id (80 random bits) and
 * the ticket (256) are new by construction. (One batch across item kinds on purpose.)
 */
async function recordLaunch(launch: LaunchRecord, ticket: string, account: Account, step: ResolutionStep) {
  const event = auditEntry({
    actor: launch.callerId,
    action: 'launch.started',
    provider: launch.provider,
    accountId: launch.accountId,
    detail: {
      launchId: launch.id,
      step,
      delivery: launch.delivery,
      model: launch.model,
      effort: launch.effort,
      maxDurationMinutes: launch.maxDurationMinutes,
      refreshTokenDelivered: launch.deliverRefreshToken,
      warnings: launch.warnings,
    },
  });
  await putAll([
    launchItem(launch),
    ...listingEntryItems(launch, launchTtl(launch)),
    ticketItem(launch, ticket, account),
    event.item,
  ]);
  event.logged();
}

/**
 * Starts an agent task: chooses the account (resolution order) and the delivery (launch →
 * environment → `ticket`), settles model and effort (task → user → environment → provider /
 * account), makes sure an OAuth token is usable (and, with ticket delivery, covers the task),
 * stores the launch with its single-use ticket and asks the runner (ECS RunTask, or local mode's
 * runner) to start the task with nothing but the ticket and Keyfleet's URL — for proxy delivery, in
 * the sidecar only. Then the task's ARN is recorded.
 */
export async function launchTask(caller: Caller, body: LaunchBody): Promise<LaunchView> {
  const provider = getProvider(body.provider);
  checkEcs(body);
  const apiUrl = config().apiUrl;
  if (!apiUrl) throw new ConflictError('KEYFLEET_API_URL is not configured, so a task could not reach Keyfleet.');
  const choice = await choose(caller, body, provider);
  const now = Date.now();
  const minutes = body.maxDurationMinutes;
  const coverage = await covered(provider, choice, minutes, now);
  const ticket = newTicket();
  const launch = { ...newLaunch(caller, choice, coverage, { minutes, now }), ticketHash: hashOf(ticket) };
  await recordLaunch(launch, ticket, coverage.account, choice.step).catch(async (error: unknown) => {
    // Part of the batch may be stored: the launch must not stay "starting" with no task.
    await abandonLaunch(launch, caller.id, error);
    throw error;
  });
  const { id, accountId, accountLabel, expiresAt, warnings, delivery } = launch;
  const taskArn = await startTask(
    {
      launchId: id,
      provider: provider.id,
      accountId,
      delivery,
      ticket,
      apiUrl,
      ecs: body.ecs,
    },
    caller.id,
  );
  await updateLaunch(id, { taskArn });
  return { id, provider: provider.id, accountId, accountLabel, taskArn, expiresAt, warnings };
}

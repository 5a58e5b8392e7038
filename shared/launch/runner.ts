import { ECSClient, RunTaskCommand, type RunTaskCommandInput, type RunTaskCommandOutput } from '@aws-sdk/client-ecs';
import { UpstreamError } from '#shared/errors.ts';
import { logger } from '#shared/log/logger.ts';
import type { ProviderId } from '#shared/providers/types.ts';

/** How a task receives its credentials (ARCHITECTURE decision 12). */
export type Delivery = 'ticket' | 'proxy';

/**
 * The sidecar container of a proxy-delivery task definition (`infra/constructs/agent-task.ts`):
 * the only container that receives the ticket, and one a launch may never override.
 */
export const PROXY_CONTAINER = 'keyfleet-proxy';

/** What a runner needs to start one agent task. Nothing in here is a credential except the ticket. */
export interface RunRequest {
  launchId: string;
  provider: ProviderId;
  accountId: string;
  /**
   * `ticket`: the agent's own `keyfleet exec` redeems the ticket. `proxy`: a `keyfleet proxy`
   * beside the agent redeems it, and the agent gets nothing of Keyfleet's but the proxy's address
   * (ECS: the sidecar container; local mode: a process next to the agent's).
   */
  delivery: Delivery;
  ticket: string;
  apiUrl: string;
  ecs: {
    cluster?: string | undefined;
    taskDefinition?: string | undefined;
    container?: string | undefined;
    subnets?: string[] | undefined;
    securityGroups?: string[] | undefined;
    assignPublicIp?: boolean | undefined;
    command?: string[] | undefined;
    environment?: Record<string, string> | undefined;
  };
}

export interface TaskRunner {
  kind: 'ecs' | 'local';
  /** The deliveries this runner can start (proxy delivery needs the proxy beside the agent); `ticket` only when absent. */
  deliveries?: readonly Delivery[];
  run: (request: RunRequest) => Promise<string>;
}

/** Whether the current runner can start a task with `delivery`. */
export function runnerDelivers(delivery: Delivery): boolean {
  return (current.deliveries ?? ['ticket']).includes(delivery);
}

type ContainerOverride = NonNullable<NonNullable<RunTaskCommandInput['overrides']>['containerOverrides']>[number];

/**
 * The containers' overrides. Ticket delivery: the agent container gets the ticket, Keyfleet's URL
 * and the caller's variables. Proxy delivery: the agent container gets the caller's command and
 * variables only, and the sidecar ({@link PROXY_CONTAINER}) the ticket and URL only.
 */
function containerOverrides(request: RunRequest): ContainerOverride[] {
  const { ecs } = request;
  const keyfleet = [
    { name: 'KEYFLEET_TICKET', value: request.ticket },
    { name: 'KEYFLEET_URL', value: request.apiUrl },
  ];
  const own = Object.entries(ecs.environment ?? {}).map(([name, value]) => ({ name, value }));
  const agent = (environment: { name: string; value: string }[]): ContainerOverride => ({
    name: ecs.container,
    ...(ecs.command ? { command: ecs.command } : {}),
    environment,
  });
  if (request.delivery === 'proxy') return [agent(own), { name: PROXY_CONTAINER, environment: keyfleet }];
  return [agent([...keyfleet, ...own])];
}

/**
 * The RunTask request for a launch: idempotent on the launch id (`clientToken`), traceable
 * (`startedBy` = launch id, tags), and container environments holding only the ticket, Keyfleet's
 * URL and the caller's own non-secret variables (see {@link containerOverrides} for which goes where).
 */
export function runTaskInput(request: RunRequest): RunTaskCommandInput {
  const { ecs } = request;
  return {
    cluster: ecs.cluster,
    taskDefinition: ecs.taskDefinition,
    launchType: 'FARGATE',
    count: 1,
    clientToken: request.launchId,
    startedBy: request.launchId,
    enableECSManagedTags: true,
    propagateTags: 'TASK_DEFINITION',
    tags: [
      { key: 'keyfleet:launch', value: request.launchId },
      { key: 'keyfleet:provider', value: request.provider },
      { key: 'keyfleet:account', value: request.accountId },
    ],
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: ecs.subnets,
        securityGroups: ecs.securityGroups,
        assignPublicIp: ecs.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    overrides: { containerOverrides: containerOverrides(request) },
  };
}

let ecsClient: ECSClient | undefined;

export const ecsRunner: TaskRunner = {
  kind: 'ecs',
  // Proxy delivery needs a task definition with the sidecar (`AgentTaskDefinition`); RunTask itself does not care.
  deliveries: ['ticket', 'proxy'],
  run: async (request) => {
    ecsClient ??= new ECSClient({});
    let out: RunTaskCommandOutput;
    try {
      out = await ecsClient.send(new RunTaskCommand(runTaskInput(request)));
    } catch (error) {
      logger.error('RunTask failed', { launchId: request.launchId, error });
      throw new UpstreamError(`ECS did not start the task: ${(error as Error).name ?? 'error'}.`, { cause: error });
    }
    const taskArn = out.tasks?.[0]?.taskArn;
    if (!taskArn) {
      const reason = out.failures?.[0]?.reason ?? 'no task was started';
      throw new UpstreamError(`ECS did not start the task: ${reason.replace(/[^\w .:/-]/g, '').slice(0, 120)}.`);
    }
    return taskArn;
  },
};

let current: TaskRunner = ecsRunner;

/** Local mode replaces ECS with its own runner. */
export function setTaskRunner(runner: TaskRunner): void {
  current = runner;
}

export function taskRunner(): TaskRunner {
  return current;
}

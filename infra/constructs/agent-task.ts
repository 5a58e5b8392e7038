import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  type ContainerDefinition,
  ContainerDependencyCondition,
  type ContainerImage,
  FargateTaskDefinition,
  type LogDriver,
  LogDrivers,
} from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The container names a launch's RunTask overrides refer to. */
export const AGENT_CONTAINER = 'agent';
export const PROXY_CONTAINER = 'keyfleet-proxy';
/** The port the sidecar listens on, on the task's loopback. */
export const PROXY_PORT = 8790;

export interface AgentTaskDefinitionProps {
  /** The agent's image: its CLI and `keyfleet` (the entrypoint runs `keyfleet exec -- <agent>`). */
  agentImage: ContainerImage;
  /** An image with `keyfleet` on PATH for the sidecar (it runs `keyfleet proxy`). */
  proxyImage: ContainerImage;
  family?: string;
  /** Task size; the sidecar reserves {@link proxyMemoryMiB} of it. */
  cpu?: number;
  memoryLimitMiB?: number;
  proxyMemoryMiB?: number;
  agentCommand?: string[];
  proxyPort?: number;
  taskRole?: IRole;
  executionRole?: IRole;
  /** Defaults to CloudWatch Logs, one group for both containers, kept 30 days. */
  logging?: LogDriver;
}

/**
 * An ECS (Fargate) task definition for `delivery: "proxy"` launches: the agent container and the
 * `keyfleet proxy` sidecar. They share the task's network namespace (awsvpc), so the agent reaches
 * the proxy on 127.0.0.1, but nothing else: separate containers and file systems, no shared PID
 * namespace, no shared volumes, so the agent cannot read the sidecar's memory or environment.
 * The sidecar is essential and health-checked; the agent starts only once it is healthy. Launches
 * pass `KEYFLEET_TICKET` to the sidecar only.
 */
export class AgentTaskDefinition extends Construct {
  readonly taskDefinition: FargateTaskDefinition;
  readonly agent: ContainerDefinition;
  readonly proxy: ContainerDefinition;

  constructor(scope: Construct, id: string, props: AgentTaskDefinitionProps) {
    super(scope, id);
    const port = props.proxyPort ?? PROXY_PORT;
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      family: props.family,
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      taskRole: props.taskRole,
      executionRole: props.executionRole,
    });
    const logging = props.logging ?? this.#defaultLogging();
    this.proxy = this.taskDefinition.addContainer('Proxy', {
      containerName: PROXY_CONTAINER,
      image: props.proxyImage,
      essential: true,
      command: ['keyfleet', 'proxy', '--port', String(port)],
      memoryReservationMiB: props.proxyMemoryMiB ?? 128,
      readonlyRootFilesystem: true,
      user: '1000',
      logging,
      healthCheck: {
        command: ['CMD', 'keyfleet', 'proxy', '--health', '--port', String(port)],
        interval: Duration.seconds(5),
        timeout: Duration.seconds(2),
        retries: 3,
        startPeriod: Duration.seconds(10),
      },
    });
    this.agent = this.taskDefinition.addContainer('Agent', {
      containerName: AGENT_CONTAINER,
      image: props.agentImage,
      essential: true,
      command: props.agentCommand,
      environment: { KEYFLEET_PROXY_URL: `http://127.0.0.1:${port}` },
      logging,
    });
    this.agent.addContainerDependencies({ container: this.proxy, condition: ContainerDependencyCondition.HEALTHY });
  }

  #defaultLogging(): LogDriver {
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return LogDrivers.awsLogs({ logGroup, streamPrefix: 'agent' });
  }
}

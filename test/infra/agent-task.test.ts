import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONTAINER, AgentTaskDefinition, PROXY_CONTAINER, PROXY_PORT } from '#infra/constructs/agent-task.ts';

type Container = Record<string, unknown> & { Name: string };

let task: Record<string, unknown>;
let containers: Container[];

beforeAll(() => {
  const stack = new Stack(new App(), 'AgentTask');
  new AgentTaskDefinition(stack, 'Agent', {
    agentImage: ContainerImage.fromRegistry('example.com/agent:1'),
    proxyImage: ContainerImage.fromRegistry('example.com/keyfleet:1'),
    family: 'agent',
  });
  const definitions = Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition');
  const [only] = Object.values(definitions) as { Properties: Record<string, unknown> }[];
  task = only?.Properties ?? {};
  containers = (task.ContainerDefinitions ?? []) as Container[];
}, 60_000);

const container = (name: string): Record<string, unknown> => containers.find((c) => c.Name === name) ?? {};

describe('AgentTaskDefinition', () => {
  it('puts agent and proxy in one awsvpc task (one network namespace) without a shared PID or IPC namespace', () => {
    expect(containers.map((c) => c.Name).sort()).toEqual([AGENT_CONTAINER, PROXY_CONTAINER].sort());
    expect(task.NetworkMode).toBe('awsvpc');
    expect(task.RequiresCompatibilities).toEqual(['FARGATE']);
    expect(task.PidMode).toBeUndefined();
    expect(task.IpcMode).toBeUndefined();
    expect(task.Volumes).toBeUndefined();
  });

  it('runs the proxy as an essential, health-checked sidecar with its own read-only file system', () => {
    expect(container(PROXY_CONTAINER)).toMatchObject({
      Essential: true,
      Command: ['keyfleet', 'proxy', '--port', String(PROXY_PORT)],
      ReadonlyRootFilesystem: true,
      User: '1000',
      HealthCheck: {
        Command: ['CMD', 'keyfleet', 'proxy', '--health', '--port', String(PROXY_PORT)],
        Interval: 5,
        Timeout: 2,
        Retries: 3,
        StartPeriod: 10,
      },
    });
    expect(container(PROXY_CONTAINER).MountPoints).toBeUndefined();
    expect(container(PROXY_CONTAINER).VolumesFrom).toBeUndefined();
  });

  it('starts the agent only once the proxy is healthy, and tells it where the proxy listens', () => {
    expect(container(AGENT_CONTAINER)).toMatchObject({
      Essential: true,
      DependsOn: [{ ContainerName: PROXY_CONTAINER, Condition: 'HEALTHY' }],
      Environment: [{ Name: 'KEYFLEET_PROXY_URL', Value: `http://127.0.0.1:${PROXY_PORT}` }],
    });
    expect(container(AGENT_CONTAINER).VolumesFrom).toBeUndefined();
    expect(container(AGENT_CONTAINER).MountPoints).toBeUndefined();
  });

  it('holds no ticket, token or key in either container definition', () => {
    const text = JSON.stringify(containers);
    expect(text).not.toMatch(/KEYFLEET_TICKET|KEYFLEET_TASK_TOKEN|API_KEY|OAUTH_TOKEN|ACCESS_TOKEN/);
    expect(containers.every((c) => c.Secrets === undefined)).toBe(true);
  });

  it('logs both containers to CloudWatch Logs', () => {
    for (const name of [AGENT_CONTAINER, PROXY_CONTAINER]) {
      expect(container(name).LogConfiguration).toMatchObject({ LogDriver: 'awslogs' });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { PROXY_CONTAINER as SIDECAR_IN_CONSTRUCT } from '#infra/constructs/agent-task.ts';
import { PROXY_CONTAINER, type RunRequest, runTaskInput } from '#shared/launch/runner.ts';

const TICKET = `kfk_${'T'.repeat(43)}`;

function request(delivery: RunRequest['delivery'], ecs: Partial<RunRequest['ecs']> = {}): RunRequest {
  return {
    launchId: 'lch_0123456789abcdef0123',
    provider: 'codex',
    accountId: 'acc_0123456789abcdef0123',
    delivery,
    ticket: TICKET,
    apiUrl: 'https://keyfleet.example.com',
    ecs: {
      cluster: 'agents',
      taskDefinition: 'agent:1',
      container: 'agent',
      subnets: ['subnet-0123456789abcdef0'],
      ...ecs,
    },
  };
}

describe('runTaskInput', () => {
  it('ticket delivery: one override, the agent container, with the ticket, the URL and the caller’s variables', () => {
    const input = runTaskInput(
      request('ticket', { command: ['codex', 'exec', 'hi'], environment: { REPO: 'org/app' } }),
    );
    expect(input.overrides).toEqual({
      containerOverrides: [
        {
          name: 'agent',
          command: ['codex', 'exec', 'hi'],
          environment: [
            { name: 'KEYFLEET_TICKET', value: TICKET },
            { name: 'KEYFLEET_URL', value: 'https://keyfleet.example.com' },
            { name: 'REPO', value: 'org/app' },
          ],
        },
      ],
    });
  });

  it('proxy delivery: the agent gets its command and the caller’s variables, the sidecar the ticket and the URL', () => {
    const input = runTaskInput(
      request('proxy', { command: ['codex', 'exec', 'hi'], environment: { REPO: 'org/app' } }),
    );
    expect(input.overrides).toEqual({
      containerOverrides: [
        { name: 'agent', command: ['codex', 'exec', 'hi'], environment: [{ name: 'REPO', value: 'org/app' }] },
        {
          name: PROXY_CONTAINER,
          environment: [
            { name: 'KEYFLEET_TICKET', value: TICKET },
            { name: 'KEYFLEET_URL', value: 'https://keyfleet.example.com' },
          ],
        },
      ],
    });
    expect([PROXY_CONTAINER, SIDECAR_IN_CONSTRUCT]).toEqual(['keyfleet-proxy', 'keyfleet-proxy']);
  });

  it('proxy delivery without a command or variables leaves the agent’s task definition as it is', () => {
    expect(runTaskInput(request('proxy')).overrides?.containerOverrides?.[0]).toEqual({
      name: 'agent',
      environment: [],
    });
  });
});

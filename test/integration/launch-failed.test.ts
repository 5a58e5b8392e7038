import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';

/** A launch whose task does not start: its record says so, and so does the audit log. */

let ecs: FakeEcs;
let api: TestApi;

const ECS = { cluster: 'agents', taskDefinition: 'agent:7', container: 'agent', subnets: ['subnet-0123456789abcdef0'] };
const KEY = 'sk-ant-api03-launch-failed-key-000001';

interface AuditEvent {
  actor: string;
  action: string;
  provider?: string;
  accountId?: string;
  detail?: Record<string, unknown>;
}

beforeAll(async () => {
  ecs = await startFakeEcs();
  api = await startTestApi({ AWS_ENDPOINT_URL_ECS: ecs.endpoint });
});
afterAll(async () => {
  await api.stop();
  await ecs.close();
});

describe('a launch whose task does not start', () => {
  it('is marked failed and leaves a launch.failed event naming the error code, with no secret', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Failing launches', apiKey: KEY },
    });
    ecs.failNext('RESOURCE:MEMORY');
    const res = await api.call<{ error: { code: string } }>('POST', '/v1/launches', {
      as: 'bob',
      body: { provider: 'claude', preferredAccountId: added.body.account.id, ecs: ECS },
    });
    expect(res.status).toBe(502);
    const list = await api.call<{ launches: { id: string; status: string }[] }>('GET', '/v1/launches?limit=1', {
      as: 'bob',
    });
    const launch = list.body.launches[0];
    expect(launch?.status).toBe('failed');
    const audit = await api.call<{ events: AuditEvent[] }>('GET', '/v1/audit?limit=5');
    const events = audit.body.events.filter((e) => e.detail?.launchId === launch?.id);
    // Both may carry the same millisecond, so their order is not asserted.
    expect(events.map((e) => e.action).sort()).toEqual(['launch.failed', 'launch.started']);
    expect(events.find((e) => e.action === 'launch.failed')).toEqual({
      at: expect.any(String),
      actor: 'bob',
      action: 'launch.failed',
      provider: 'claude',
      accountId: added.body.account.id,
      detail: { launchId: launch?.id, error: res.body.error.code },
    });
    expect(JSON.stringify(audit.body)).not.toContain(KEY);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAccount } from '#shared/accounts/store.ts';
import { getLaunch } from '#shared/launch/records.ts';
import { deleteSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';

/**
 * A ticket carries its launch's facts, but what may change about the account between the launch
 * and the task's redemption (its endpoint, its key, whether it still exists) is read fresh.
 */

let ecs: FakeEcs;
let api: TestApi;

const ECS = { cluster: 'agents', taskDefinition: 'agent:7', container: 'agent', subnets: ['subnet-0123456789abcdef0'] };
type Err = { error: { code: string; message: string } };
type Redeemed = { env: Record<string, string>; taskToken: string };

beforeAll(async () => {
  ecs = await startFakeEcs();
  api = await startTestApi({ AWS_ENDPOINT_URL_ECS: ecs.endpoint });
});
afterAll(async () => {
  await api.stop();
  await ecs.close();
});

function lastTicket(): string {
  const overrides = ecs.runTasks.at(-1)?.overrides as {
    containerOverrides: { environment: { name: string; value: string }[] }[];
  };
  return overrides.containerOverrides[0]?.environment.find((e) => e.name === 'KEYFLEET_TICKET')?.value ?? '';
}

async function launchOn(provider: string, accountId: string): Promise<{ launchId: string; ticket: string }> {
  const res = await api.call<{ launch: { id: string } }>('POST', '/v1/launches', {
    body: { provider, preferredAccountId: accountId, ecs: ECS },
  });
  expect(res.status).toBe(201);
  return { launchId: res.body.launch.id, ticket: lastTicket() };
}

const redeem = (ticket: string) => api.call<Redeemed & Err>('POST', '/v1/tickets/redeem', { body: { ticket } });

describe('ticket redemption reads the account fresh', () => {
  it('regression: a key rotated together with a new endpoint after the launch goes only to the new endpoint', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: {
        kind: 'api_key',
        label: 'Gateway',
        apiKey: 'sk-ant-api03-old-gateway-key-0001',
        endpoint: { type: 'custom', baseUrl: 'https://old-gw.example.com' },
      },
    });
    const id = added.body.account.id;
    const { ticket } = await launchOn('claude', id);
    const changed = await api.call('PATCH', `/v1/providers/claude/accounts/${id}`, {
      body: {
        apiKey: 'sk-ant-api03-new-gateway-key-0002',
        endpoint: { type: 'custom', baseUrl: 'https://new-gw.example.com' },
      },
    });
    expect(changed.status).toBe(200);
    const res = await redeem(ticket);
    expect(res.status).toBe(200);
    expect(res.body.env.ANTHROPIC_BASE_URL).toBe('https://new-gw.example.com');
    expect(res.body.env.ANTHROPIC_API_KEY).toBe('sk-ant-api03-new-gateway-key-0002');
  });

  it('regression: a keyless account removed after the launch is account_unusable, and the launch is not left running', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'none', label: 'Local model', endpoint: { type: 'custom', baseUrl: 'http://localhost:11434' } },
    });
    const id = added.body.account.id;
    const { launchId, ticket } = await launchOn('claude', id);
    expect((await api.call('DELETE', `/v1/providers/claude/accounts/${id}`)).status).toBe(204);
    const res = await redeem(ticket);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('account_unusable');
    expect((await getLaunch(launchId))?.status).toBe('failed');
  });

  it('regression: a vault read that fails after the launch was marked running leaves the launch failed, not running', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/claude/accounts', {
      body: { kind: 'api_key', label: 'Vanishing', apiKey: 'sk-ant-api03-vanishing-key-0003' },
    });
    const id = added.body.account.id;
    const { launchId, ticket } = await launchOn('claude', id);
    await deleteSecret((await getAccount('claude', id))?.secretName as string);
    const res = await redeem(ticket);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('account_unusable');
    expect((await getLaunch(launchId))?.status).toBe('failed');
  });
});

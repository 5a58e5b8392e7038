import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type FakeEcs, startFakeEcs } from '#test/helpers/fake-ecs.ts';

/** GET /v1/launches and GET /v1/launches/{id}, for the console's Launches screen. */

let ecs: FakeEcs;
let api: TestApi;

const ECS = {
  cluster: 'agents',
  taskDefinition: 'agent:7',
  container: 'agent',
  subnets: ['subnet-0123456789abcdef0'],
};
const T0 = Date.parse('2026-11-20T09:00:00.000Z');

interface Launch {
  id: string;
  provider: string;
  accountId: string;
  callerId: string;
  status: string;
  createdAt: string;
  [key: string]: unknown;
}
type Page = { launches: Launch[]; next?: string };
type Err = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

let claudeId: string;
let claudeOtherId: string;
let codexId: string;
/** Launch ids in creation order, with who started them. */
const started: { id: string; as: 'admin' | 'alice' | 'bob'; provider: string; accountId: string }[] = [];

async function launchAt(
  minute: number,
  as: 'admin' | 'alice' | 'bob',
  provider: 'claude' | 'codex',
  preferredAccountId?: string,
) {
  vi.useFakeTimers({ toFake: ['Date'], now: T0 + minute * 60_000 });
  try {
    const res = await api.call<{ launch: { id: string; accountId: string } }>('POST', '/v1/launches', {
      as,
      body: { provider, ecs: ECS, ...(preferredAccountId ? { preferredAccountId } : {}) },
    });
    expect(res.status).toBe(201);
    started.push({ id: res.body.launch.id, as, provider, accountId: res.body.launch.accountId });
  } finally {
    vi.useRealTimers();
  }
}

const ids = (page: Page) => page.launches.map((l) => l.id);
const newestFirst = (filter: (s: (typeof started)[number]) => boolean) =>
  started
    .filter(filter)
    .map((s) => s.id)
    .reverse();

beforeAll(async () => {
  ecs = await startFakeEcs();
  api = await startTestApi({ AWS_ENDPOINT_URL_ECS: ecs.endpoint });
});
afterAll(async () => {
  await api.stop();
  await ecs.close();
});

// Every test sees the same seven launches over three accounts, and nothing an earlier test added.
beforeEach(async () => {
  started.length = 0;
  const add = async (provider: string, label: string, apiKey: string) =>
    (
      await api.call<{ account: { id: string } }>('POST', `/v1/providers/${provider}/accounts`, {
        body: { kind: 'api_key', label, apiKey },
      })
    ).body.account.id;
  claudeId = await add('claude', 'Team Claude', 'sk-ant-api03-listing-key-000001');
  claudeOtherId = await add('claude', 'Other Claude', 'sk-ant-api03-listing-key-000002');
  codexId = await add('codex', 'Team Codex', 'sk-proj-listing-key-000003');
  await launchAt(1, 'alice', 'claude');
  await launchAt(2, 'bob', 'claude');
  await launchAt(3, 'alice', 'codex');
  await launchAt(4, 'admin', 'claude', claudeOtherId);
  await launchAt(5, 'alice', 'claude', claudeOtherId);
  await launchAt(6, 'bob', 'codex');
  await launchAt(7, 'alice', 'claude');
});

describe('GET /v1/launches', () => {
  it('lists every launch, newest first, for an admin', async () => {
    const res = await api.call<Page>('GET', '/v1/launches');
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual(newestFirst(() => true));
    expect(res.body.next).toBeUndefined();
  });

  it('lists only the caller’s own launches for a member', async () => {
    expect(ids((await api.call<Page>('GET', '/v1/launches', { as: 'alice' })).body)).toEqual(
      newestFirst((s) => s.as === 'alice'),
    );
    expect(ids((await api.call<Page>('GET', '/v1/launches', { as: 'bob' })).body)).toEqual(
      newestFirst((s) => s.as === 'bob'),
    );
  });

  it('answers each launch in API.md’s Launch shape', async () => {
    const first = started[0];
    const res = await api.call<Page>('GET', '/v1/launches?limit=100', { as: 'alice' });
    expect(res.body.launches.at(-1)).toEqual({
      id: first?.id,
      provider: 'claude',
      accountId: claudeId,
      accountLabel: 'Team Claude',
      callerId: 'alice',
      delivery: 'ticket',
      model: null,
      effort: null,
      taskArn: `arn:aws:ecs:eu-west-1:111122223333:task/agents/${first?.id}`,
      status: 'starting',
      createdAt: '2026-11-20T09:01:00.000Z',
      expiresAt: '2026-11-20T11:16:00.000Z',
      warnings: [],
    });
  });

  it('pages with a URL-safe next cursor until every launch was listed once', async () => {
    const seen: string[] = [];
    let path = '/v1/launches?limit=3';
    const cursors: string[] = [];
    for (let pages = 0; pages < 10; pages++) {
      const res = await api.call<Page>('GET', path);
      expect(res.status).toBe(200);
      seen.push(...ids(res.body));
      if (!res.body.next) break;
      cursors.push(res.body.next);
      path = `/v1/launches?limit=3&before=${res.body.next}`;
    }
    expect(seen).toEqual(newestFirst(() => true));
    expect(cursors).toHaveLength(2);
    for (const cursor of cursors) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('filters by provider and by account, across pages', async () => {
    const byProvider: string[] = [];
    let next: string | undefined;
    do {
      const res: { body: Page } = await api.call<Page>(
        'GET',
        `/v1/launches?provider=claude&limit=1${next ? `&before=${next}` : ''}`,
      );
      byProvider.push(...ids(res.body));
      next = res.body.next;
    } while (next);
    expect(byProvider).toEqual(newestFirst((s) => s.provider === 'claude'));

    const res = await api.call<Page>('GET', `/v1/launches?accountId=${claudeOtherId}`, { as: 'alice' });
    expect(ids(res.body)).toEqual(newestFirst((s) => s.as === 'alice' && s.accountId === claudeOtherId));
    const codex = await api.call<Page>('GET', `/v1/launches?provider=codex&accountId=${codexId}`);
    expect(ids(codex.body)).toEqual(newestFirst((s) => s.provider === 'codex'));
  });

  it('takes an ISO time as before: launches created strictly before it', async () => {
    const res = await api.call<Page>('GET', '/v1/launches?before=2026-11-20T09:04:00.000Z');
    expect(ids(res.body)).toEqual(
      started
        .slice(0, 3)
        .map((s) => s.id)
        .reverse(),
    );
  });

  it.each([
    ['before=not%20a%20cursor', 'query.before'],
    ['before=eyJwayI6IlgifQ', 'query.before'],
    ['limit=0', 'query.limit'],
    ['limit=101', 'query.limit'],
    ['provider=mistral', 'query.provider'],
    ['accountId=acc_1', 'query.accountId'],
    ['colour=red', 'query'],
  ])('refuses ?%s with validation_failed', async (query, path) => {
    const res = await api.call<Err>('GET', `/v1/launches?${query}`, { as: 'alice' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details?.[0]?.path).toBe(path);
  });

  it('refuses a cursor from another caller’s list', async () => {
    const admin = await api.call<Page>('GET', '/v1/launches?limit=1');
    expect(admin.body.next).toBeDefined();
    const res = await api.call<Err>('GET', `/v1/launches?before=${admin.body.next}`, { as: 'alice' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });

  it('shows a launch whose task did not start as failed', async () => {
    ecs.failNext('RESOURCE:MEMORY');
    const res = await api.call<Err>('POST', '/v1/launches', { as: 'bob', body: { provider: 'claude', ecs: ECS } });
    expect(res.status).toBe(502);
    const list = await api.call<Page>('GET', '/v1/launches?limit=1', { as: 'bob' });
    expect(list.body.launches[0]).toMatchObject({ status: 'failed', taskArn: null, callerId: 'bob' });
  });
});

describe('GET /v1/launches/{id}', () => {
  it('answers a member’s own launch, and any launch to an admin', async () => {
    const own = started.find((s) => s.as === 'alice');
    const res = await api.call<{ launch: Launch }>('GET', `/v1/launches/${own?.id}`, { as: 'alice' });
    expect(res.status).toBe(200);
    expect(res.body.launch).toMatchObject({ id: own?.id, callerId: 'alice', provider: 'claude', status: 'starting' });
    expect((await api.call('GET', `/v1/launches/${own?.id}`)).status).toBe(200);
  });

  it('answers not_found for another member’s launch, an unknown id and a malformed one', async () => {
    const theirs = started.find((s) => s.as === 'bob');
    for (const path of [`/v1/launches/${theirs?.id}`, '/v1/launches/lch_00000000000000000000', '/v1/launches/x']) {
      const res = await api.call<Err>('GET', path, { as: 'alice' });
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({ code: 'not_found', message: 'No such launch.' });
    }
  });
});

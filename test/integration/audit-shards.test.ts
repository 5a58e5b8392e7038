import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, audit, auditEntry, auditItem, listAudit } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { encodeCursor } from '#shared/store/cursor.ts';
import { documentClient } from '#shared/store/dynamo.ts';
import { AUDIT_SHARDS, auditKey, auditPartition, LEGACY_AUDIT_PARTITION } from '#shared/store/keys.ts';
import { type ApiResult, startTestApi, type TestApi } from '#test/helpers/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

type Err = { error: { code: string; details?: unknown } };
type Page = { events: AuditEvent[]; next?: string };

/** Five UTC days, events at uneven times in each, several sharing a millisecond. */
const DAYS = ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22'];
const SPREAD = DAYS.flatMap((day, d) =>
  Array.from({ length: 30 + d * 3 }, (_, i) => {
    const seconds = (i * 2_741 + d * 613) % 86_400;
    const time = new Date(Date.parse(`${day}T00:00:00Z`) + seconds * 1000 + (i % 3 === 0 ? 0 : i)).toISOString();
    return { at: time, n: `${d}-${i}` };
  }),
);

/** Every page from `first`, following `next`, as the console's Older button does. */
async function pageAll(limit: number, first?: string): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let before = first;
  let pages = 0;
  do {
    const page = await listAudit(limit, before);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    events.push(...page.events);
    before = page.next;
    pages++;
    expect(pages).toBeLessThan(1_000);
  } while (before !== undefined);
  return { events, pages };
}

const numbers = (events: AuditEvent[]) => events.map((e) => e.detail?.n);

/** Counts the DynamoDB operations the code under test sends while `run` runs. */
async function countingCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: Record<string, number> }> {
  const calls: Record<string, number> = {};
  const name = `count-${Math.random()}`;
  documentClient().middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName);
      calls[operation] = (calls[operation] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await run(), calls };
  } finally {
    documentClient().middlewareStack.remove(name);
  }
}

describe('audit events sharded over partitions', () => {
  // Each test reads the same spread of events in an otherwise empty table (twenty writes at a time).
  beforeEach(async () => {
    for (let i = 0; i < SPREAD.length; i += 20) {
      await Promise.all(
        SPREAD.slice(i, i + 20).map(({ at, n }) =>
          audit({ at, actor: 'admin', action: 'settings.changed', detail: { n } }),
        ),
      );
    }
  });

  it('spreads the events over every shard and leaves the old AUDIT partition alone', async () => {
    const counts: number[] = [];
    for (let shard = 0; shard < AUDIT_SHARDS; shard++) {
      const out = await documentClient().send(
        new QueryCommand({
          TableName: config().tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': auditPartition(shard) },
          Select: 'COUNT',
        }),
      );
      counts.push(out.Count ?? 0);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(SPREAD.length);
    for (const count of counts) expect(count).toBeGreaterThan(SPREAD.length / AUDIT_SHARDS / 2);
    const legacy = await documentClient().send(
      new QueryCommand({
        TableName: config().tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': LEGACY_AUDIT_PARTITION },
      }),
    );
    expect(legacy.Items).toEqual([]);
  });

  it('lists every event once, newest first across shards and days, whatever the page size', async () => {
    const expected = [...SPREAD].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).map((e) => e.at);
    const whole = await pageAll(100);
    expect(whole.events.map((e) => e.at)).toEqual(expected);
    expect(new Set(numbers(whole.events)).size).toBe(SPREAD.length);
    for (const limit of [1, 7, 50]) {
      const paged = await pageAll(limit);
      expect(numbers(paged.events), `limit ${limit}`).toEqual(numbers(whole.events));
      expect(paged.pages).toBe(Math.ceil(SPREAD.length / limit));
    }
  });

  it('reads one Query per partition for a page, whatever the limit', async () => {
    for (const limit of [1, 100]) {
      const { result, calls } = await countingCalls(() => listAudit(limit));
      expect(result.events).toHaveLength(limit);
      expect(calls).toEqual({ QueryCommand: AUDIT_SHARDS + 1 });
    }
  });

  it('starts strictly before an ISO time, across a day boundary, and pages on from there', async () => {
    const pivot = '2026-11-20T00:00:00.000Z';
    const older = SPREAD.filter((e) => e.at < pivot);
    const fromDate = await pageAll(9, '2026-11-20');
    expect(fromDate.events.every((e) => e.at < pivot)).toBe(true);
    expect(new Set(numbers(fromDate.events))).toEqual(new Set(older.map((e) => e.n)));
    expect(numbers((await pageAll(9, pivot)).events)).toEqual(numbers(fromDate.events));
  });

  it('answers no next on the page that holds the oldest event', async () => {
    const page = await listAudit(100, '2026-11-19');
    expect(page.events).toHaveLength(30);
    expect(page.next).toBeUndefined();
  });
});

describe('audit listing: ties, the old partition and bad cursors', () => {
  it('orders events with the same sort key in two shards by shard and shows each once across a page break', async () => {
    const sk = '2026-11-10T12:00:00.000Z#000000000000';
    for (const shard of [0, 3]) {
      await documentClient().send(
        new PutCommand({
          TableName: config().tableName,
          Item: {
            ...auditKey(sk, shard),
            type: 'audit',
            at: '2026-11-10T12:00:00.000Z',
            actor: 'admin',
            action: 'settings.changed',
            detail: { n: `tie-${shard}` },
          },
        }),
      );
    }
    const first = await listAudit(1, '2026-11-10T12:00:00.001Z');
    expect(numbers(first.events)).toEqual(['tie-3']);
    const second = await listAudit(1, first.next);
    expect(numbers(second.events)).toEqual(['tie-0']);
  });

  it('merges events written before sharding (the AUDIT partition) and takes their old cursors', async () => {
    const old = ['2026-11-09T08:00:00.000Z', '2026-11-09T09:00:00.000Z', '2026-11-09T10:00:00.000Z'];
    for (const [i, at] of old.entries()) {
      await documentClient().send(
        new PutCommand({
          TableName: config().tableName,
          Item: {
            pk: LEGACY_AUDIT_PARTITION,
            sk: `${at}#00000000000${i}`,
            type: 'audit',
            at,
            actor: 'admin',
            action: 'settings.changed',
            detail: { n: `old-${i}` },
          },
        }),
      );
    }
    await audit({ at: '2026-11-09T09:30:00.000Z', actor: 'admin', action: 'settings.changed', detail: { n: 'new' } });
    const day = await pageAll(2, '2026-11-10');
    expect(numbers(day.events)).toEqual(['old-2', 'new', 'old-1', 'old-0']);
    // A cursor a client kept from before the upgrade names an item of the old partition.
    const kept = encodeCursor({ pk: LEGACY_AUDIT_PARTITION, sk: `${old[1]}#000000000001` });
    expect(numbers((await listAudit(10, kept)).events)).toEqual(['old-0']);
  });

  it.each([
    [
      'a shard that does not exist',
      encodeCursor({ pk: auditPartition(AUDIT_SHARDS), sk: '2026-11-22T10:00:00.000Z#0a' }),
    ],
    ['a shard that is not a number', encodeCursor({ pk: 'AUDIT#x', sk: '2026-11-22T10:00:00.000Z#0a' })],
    ['a number as sort key', encodeCursor({ pk: auditPartition(0), sk: 5 })],
    ['a launch listing cursor', encodeCursor({ pk: 'LAUNCHES', sk: '2026-11-22T10:00:00.000Z#l_1' })],
    ['a shard number alone', encodeCursor({ pk: auditPartition(1) })],
  ])('refuses a cursor with %s: 400 validation_failed at query.before', async (_, before) => {
    const res: ApiResult<Err> = await api.call<Err>('GET', `/v1/audit?limit=5&before=${before}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'query.before', message: 'must be the next value of a previous page or an ISO-8601 time' }],
    });
  });

  it('pages through the route with next values that are URL-safe and opaque', async () => {
    // 90 events a minute apart: three pages of 40, 40 and 10.
    for (let i = 0; i < 90; i++) {
      const at = new Date(Date.parse('2026-11-20T00:00:00Z') + i * 60_000).toISOString();
      await audit({ at, actor: 'admin', action: 'settings.changed', detail: { n: String(i).padStart(2, '0') } });
    }
    const seen: string[] = [];
    let pages = 0;
    let next: string | undefined;
    do {
      const res: ApiResult<Page> = await api.call<Page>('GET', `/v1/audit?limit=40${next ? `&before=${next}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.events.map((e) => `${e.at} ${String(e.detail?.n)}`));
      next = res.body.next;
      pages++;
      if (next !== undefined) expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (next);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(90);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
  });
});

describe('auditItem and auditEntry', () => {
  it('build the item audit() stores without writing it: keyed in a shard, redacted, with a TTL', async () => {
    registerSecret('sk-audit-item-secret-value');
    const before = await documentClient().send(new ScanCommand({ TableName: config().tableName, Select: 'COUNT' }));
    const now = Math.ceil(Date.now() / 1000);
    const item = auditItem({
      at: '2026-11-22T10:00:00.000Z',
      actor: 'admin',
      action: 'launch.started',
      provider: 'claude',
      accountId: 'acc_1',
      detail: { launchId: 'l_1', note: 'sk-audit-item-secret-value' },
    });
    expect(item).toEqual({
      pk: expect.stringMatching(/^AUDIT#[0-3]$/),
      sk: expect.stringMatching(/^2026-11-22T10:00:00\.000Z#[0-9a-f]{12}$/),
      type: 'audit',
      at: '2026-11-22T10:00:00.000Z',
      actor: 'admin',
      action: 'launch.started',
      provider: 'claude',
      accountId: 'acc_1',
      detail: { launchId: 'l_1', note: '[REDACTED]' },
      ttl: expect.any(Number),
    });
    expect(item.pk).toBe(auditKey(String(item.sk)).pk);
    expect((item.ttl as number) - now).toBeGreaterThanOrEqual(400 * 86_400);
    expect((item.ttl as number) - now).toBeLessThan(400 * 86_400 + 60);
    const after = await documentClient().send(new ScanCommand({ TableName: config().tableName, Select: 'COUNT' }));
    expect(after.Count).toBe(before.Count);
    expect(auditEntry({ actor: 'admin', action: 'grant.issued' }).item.at).toEqual(expect.any(String));
  });
});

describe('a partition cut short by DynamoDB’s 1 MB page', () => {
  it('regression: ends the page where that partition stopped, so none of its newer events is skipped', async () => {
    const put = (pk: string, at: string, n: string, detail: Record<string, unknown> = {}) =>
      documentClient().send(
        new PutCommand({
          TableName: config().tableName,
          Item: { pk, sk: `${at}#${n}`, at, actor: 'test', action: 'settings.changed', detail: { n, ...detail } },
        }),
      );
    const minute = (m: number) => new Date(Date.parse('2026-11-22T00:00:00Z') + m * 60_000).toISOString();
    // 120 large events in one shard (about 12 KB each: a 101-item Query of them exceeds 1 MB) …
    const padding = 'x'.repeat(12_000);
    for (let m = 100; m < 220; m++) await put(auditPartition(0), minute(m), `big-${m}`, { padding });
    // … and 50 small ones, all older, in another.
    for (let m = 0; m < 50; m++) await put(auditPartition(1), minute(m), `small-${m}`);
    const { events } = await pageAll(100);
    const seen = numbers(events);
    expect(new Set(seen).size).toBe(170);
    expect(seen.slice(0, 2)).toEqual(['big-219', 'big-218']);
    expect(seen.at(-1)).toBe('small-0');
  });
});

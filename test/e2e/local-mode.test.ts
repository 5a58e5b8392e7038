import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnLocalMode } from '#test/helpers/spawn-local.ts';

describe('npm start (local mode)', () => {
  it('serves the providers over HTTP on loopback and keeps its admin token across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kf-local-'));
    const first = await spawnLocalMode({ KEYFLEET_DATA_DIR: dataDir });
    try {
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${first.url}/v1/providers`, {
        headers: { authorization: `Bearer ${first.adminToken}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { providers: { id: string; accounts: unknown[] }[] };
      expect(body.providers.map((p) => [p.id, p.accounts.length])).toEqual([
        ['claude', 0],
        ['codex', 0],
        ['gemini', 0],
        ['bob', 0],
        ['grok', 0],
      ]);
      const bad = await fetch(`${first.url}/v1/providers/unknown`, {
        headers: { authorization: `Bearer ${first.adminToken}` },
      });
      expect(await bad.json()).toMatchObject({ error: { code: 'unknown_provider' } });
    } finally {
      await first.stop();
    }
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);

    const second = await spawnLocalMode({ KEYFLEET_DATA_DIR: dataDir });
    try {
      expect(second.adminToken).toBe(first.adminToken);
    } finally {
      await second.stop();
    }
  });

  it('uses KEYFLEET_ADMIN_TOKEN and member tokens from the environment', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kf-local-'));
    const local = await spawnLocalMode({
      KEYFLEET_DATA_DIR: dataDir,
      KEYFLEET_ADMIN_TOKEN: 'admin-from-env-0123456789',
      KEYFLEET_MEMBER_TOKEN: 'member-from-env-0123456789',
    });
    try {
      expect(local.adminToken).toBe('admin-from-env-0123456789');
      const member = await fetch(`${local.url}/v1/providers/claude`, {
        headers: { authorization: 'Bearer member-from-env-0123456789' },
      });
      expect(member.status).toBe(200);
    } finally {
      await local.stop();
    }
  });
});

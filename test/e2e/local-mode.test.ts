import { spawnSync } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localModeRefusal, spawnLocalMode } from '#test/helpers/spawn-local.ts';

const made: string[] = [];
async function dataDirectory(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'kf-local-')));
  made.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('npm start (local mode)', () => {
  it('serves the providers over HTTP on loopback and keeps its admin token across restarts', async () => {
    const dataDir = await dataDirectory();
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
    const dataDir = await dataDirectory();
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

describe('npm start refuses to start, in one clear message', () => {
  it('regression: bad provider overrides stop local mode at start with the list of problems instead of answering 500', async () => {
    const parent = await dataDirectory();
    const { code, stdout, stderr } = await localModeRefusal({
      KEYFLEET_DATA_DIR: join(parent, 'data'),
      KEYFLEET_PORT: 'abc',
      KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify({
        grok: { colour: 'blue' },
        gork: {},
        bob: { tokenEndpoint: 'http://bob.example.com/token' },
      }),
    });
    expect(code).toBe(1);
    expect(stdout).not.toContain('Admin token');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('keyfleet: the configuration is invalid:');
    expect(lines[1]).toMatch(/^ {2}- KEYFLEET_PROVIDER_OVERRIDES is invalid: /);
    for (const problem of ['bob.tokenEndpoint', '"colour"', '"gork"']) expect(lines[1]).toContain(problem);
    expect(lines[2]).toBe('  - KEYFLEET_PORT must be a whole number from 0 to 65535 (got "abc")');
    // Nothing was started or written.
    expect(await exists(join(parent, 'data'))).toBe(false);
  });

  it('regression: KEYFLEET_PORT=abc ends in one line instead of a stack trace', async () => {
    const { code, stderr } = await localModeRefusal({ KEYFLEET_DATA_DIR: await dataDirectory(), KEYFLEET_PORT: 'abc' });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'keyfleet: the configuration is invalid:\n  - KEYFLEET_PORT must be a whole number from 0 to 65535 (got "abc")\n',
    );
  });

  it('regression: a port in use ends in one line instead of a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const dataDir = await dataDirectory();
    try {
      const { code, stdout, stderr } = await localModeRefusal({
        KEYFLEET_DATA_DIR: dataDir,
        KEYFLEET_PORT: String(port),
      });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        `keyfleet: port ${port} on 127.0.0.1 is already in use; stop what uses it or pick another port, e.g. KEYFLEET_PORT=9000 npm start\n`,
      );
      expect(await exists(join(dataDir, 'keyfleet.lock'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('regression: a second instance on the same data directory ends in one line instead of a stack trace', async () => {
    const dataDir = await dataDirectory();
    const first = await spawnLocalMode({ KEYFLEET_DATA_DIR: dataDir });
    try {
      expect(await readFile(join(dataDir, 'keyfleet.lock'), 'utf8')).toBe(`${first.child.pid}\n`);
      const second = await localModeRefusal({ KEYFLEET_DATA_DIR: dataDir });
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toBe(
        `keyfleet: another Keyfleet local mode (PID ${first.child.pid}) is using ${dataDir}; stop it, or set KEYFLEET_DATA_DIR to another directory\n`,
      );
      // The first one is untouched.
      const res = await fetch(`${first.url}/v1/providers`, {
        headers: { authorization: `Bearer ${first.adminToken}` },
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await first.stop()).toEqual({ code: 0, signal: null });
    }
    expect(await exists(join(dataDir, 'keyfleet.lock'))).toBe(false);
  });
});

describe('npm start: data directory', () => {
  it('takes over a lock whose process is gone', async () => {
    const dataDir = await dataDirectory();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dataDir, 'keyfleet.lock'), `${gone.stdout}\n`);
    const local = await spawnLocalMode({ KEYFLEET_DATA_DIR: dataDir });
    try {
      expect(await readFile(join(dataDir, 'keyfleet.lock'), 'utf8')).toBe(`${local.child.pid}\n`);
    } finally {
      await local.stop();
    }
  });

  it('regression: the banner names the real data directory instead of .keyfleet/', async () => {
    const parent = await dataDirectory();
    await mkdir(join(parent, 'x'));
    const local = await spawnLocalMode({ KEYFLEET_DATA_DIR: join(parent, 'x', '..', 'data') });
    try {
      expect(local.output()).toContain(`Data is kept under ${join(parent, 'data')} (delete it to start over).`);
    } finally {
      await local.stop();
    }
  });
});

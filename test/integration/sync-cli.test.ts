import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OperatorIo } from '#shared/operator/io.ts';
import { runOperator } from '#shared/operator/run.ts';
import { writeWorkstationFiles } from '#shared/operator/sync.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

let api: TestApi;
let oauth: OAuthServer;
let stop: () => Promise<void>;
const accounts: Record<string, string> = {};

const NOW = Date.parse('2026-11-22T15:01:02.345Z');

beforeAll(async () => {
  ({ api, oauth, stop } = await startOAuthApi());
});
afterAll(async () => stop());
// Each test: one signed-in team account per provider, active (the table starts empty).
beforeEach(async () => {
  for (const provider of ['claude', 'codex', 'gemini'] as const) {
    accounts[provider] = (await signIn(api, oauth, provider, `sync-${provider}`)).id;
  }
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sync(argv: string[], as: keyof typeof TOKENS = 'alice'): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: OperatorIo = {
    env: { KEYFLEET_URL: api.base, KEYFLEET_TOKEN: TOKENS[as], HOME: '/nonexistent-home' },
    stdin: Readable.from([]),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    now: () => NOW,
  };
  const code = await runOperator(['sync', ...argv], io);
  return { code, stdout, stderr };
}

const freshHome = () => mkdtempSync(join(tmpdir(), 'kf-sync-'));
const mode = (path: string) => statSync(path).mode & 0o777;
const vault = async (provider: string) => (await readSecret(`keyfleet/test/${provider}/${accounts[provider]}`)).value;

describe('keyfleet sync', () => {
  it('writes Codex auth.json 0600 in a new 0700 directory and prints the refresh address as an export line', async () => {
    const home = freshHome();
    const run = await sync(['codex', '--home', home]);
    expect(run.code, run.stderr).toBe(0);
    const file = join(home, '.codex/auth.json');
    expect(mode(file)).toBe(0o600);
    expect(mode(join(home, '.codex'))).toBe(0o700);
    const auth = JSON.parse(readFileSync(file, 'utf8'));
    const stored = await vault('codex');
    expect(auth.tokens.access_token).toBe(stored.access_token);
    expect(auth.tokens.refresh_token).toMatch(/^kfg_/);
    expect(readFileSync(file, 'utf8')).not.toContain(String(stored.refresh_token));
    expect(run.stdout).toBe(`export CODEX_REFRESH_TOKEN_URL_OVERRIDE='${api.base}/v1/oauth/codex/token'\n`);
    expect(run.stderr).toContain(`wrote ${file} (0600)`);
    expect(capturedLogs()).not.toContain(auth.tokens.refresh_token);
  });

  it('backs up an existing file as <file>.keyfleet-backup-<time> before replacing it', async () => {
    const home = freshHome();
    mkdirSync(join(home, '.codex'), { mode: 0o755 });
    writeFileSync(join(home, '.codex/auth.json'), '{"mine":true}\n', { mode: 0o644 });
    const run = await sync(['codex', '--home', home]);
    expect(run.code, run.stderr).toBe(0);
    const backup = join(home, '.codex/auth.json.keyfleet-backup-20261122T150102Z');
    expect(readFileSync(backup, 'utf8')).toBe('{"mine":true}\n');
    expect(mode(backup)).toBe(0o600);
    expect(mode(join(home, '.codex/auth.json'))).toBe(0o600);
    expect(run.stderr).toContain(`backed up to ${backup}`);
  });

  it("merges Gemini's settings into the person's own and prints the access token export lines", async () => {
    const home = freshHome();
    mkdirSync(join(home, '.gemini'));
    writeFileSync(join(home, '.gemini/settings.json'), '{"ui":{"theme":"dark"},"security":{"folderTrust":true}}');
    const run = await sync(['gemini', '--home', home]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(home, '.gemini/settings.json'), 'utf8'))).toEqual({
      ui: { theme: 'dark' },
      security: { folderTrust: true, auth: { selectedType: 'oauth-personal' } },
    });
    const stored = await vault('gemini');
    expect(run.stdout).toBe(
      `export GOOGLE_GENAI_USE_GCA='true'\nexport GOOGLE_CLOUD_ACCESS_TOKEN='${stored.access_token}'\n`,
    );
    expect(existsSync(join(home, '.gemini/oauth_creds.json'))).toBe(false);
  });

  it('regression: a second sync within the same second keeps the first backup of the person’s own file', async () => {
    const home = freshHome();
    mkdirSync(join(home, '.codex'));
    writeFileSync(join(home, '.codex/auth.json'), '{"mine":true}\n');
    expect((await sync(['codex', '--home', home])).code).toBe(0);
    const second = await sync(['codex', '--home', home]);
    expect(second.code, second.stderr).toBe(0);
    const first = join(home, '.codex/auth.json.keyfleet-backup-20261122T150102Z');
    expect(readFileSync(first, 'utf8')).toBe('{"mine":true}\n');
    expect(readFileSync(`${first}-2`, 'utf8')).toContain('kfg_');
    expect(second.stderr).toContain(`backed up to ${first}-2`);
  });

  it("keeps the person's other Claude sign-ins (MCP) and replaces their own login, which stays in the backup", async () => {
    const home = freshHome();
    mkdirSync(join(home, '.claude'));
    const own = {
      claudeAiOauth: {
        accessToken: 'own-access',
        refreshToken: 'own-refresh',
        expiresAt: 1,
        scopes: ['user:inference'],
      },
      mcpOAuth: { server: { accessToken: 'mcp-token' } },
    };
    writeFileSync(join(home, '.claude/.credentials.json'), JSON.stringify(own));
    const run = await sync(['claude', '--home', home]);
    expect(run.code, run.stderr).toBe(0);
    const stored = await vault('claude');
    const written = JSON.parse(readFileSync(join(home, '.claude/.credentials.json'), 'utf8'));
    expect(written.mcpOAuth).toEqual(own.mcpOAuth);
    expect(written.claudeAiOauth).toEqual({
      accessToken: stored.access_token,
      refreshToken: null,
      expiresAt: stored.expires_at,
      scopes: String(stored.scope).split(' '),
      subscriptionType: null,
    });
    const backup = join(home, '.claude/.credentials.json.keyfleet-backup-20261122T150102Z');
    expect(JSON.parse(readFileSync(backup, 'utf8'))).toEqual(own);
  });

  it('with --dry-run writes nothing, hides the values and revokes the grant it took', async () => {
    const home = freshHome();
    const run = await sync(['codex', '--home', home, '--dry-run'], 'bob');
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(home)).toEqual([]);
    expect(run.stdout).toBe('export CODEX_REFRESH_TOKEN_URL_OVERRIDE=…\n');
    expect(run.stderr).toContain(`would write ${join(home, '.codex/auth.json')}`);
    const grants = await api.call<{ grants: { status: string }[] }>('GET', '/v1/me/grants', { as: 'bob' });
    expect(grants.body.grants.map((g) => g.status)).toEqual(['revoked']);
  });

  it('syncs every provider that has an account for the caller when none is named', async () => {
    const home = freshHome();
    const run = await sync(['--home', home, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { synced: { grant: { provider: string } }[] };
    expect(out.synced.map((s) => s.grant.provider)).toEqual(['claude', 'codex', 'gemini']);
    expect(readdirSync(home).sort()).toEqual(['.claude', '.codex', '.gemini']);
  });

  it('--revoke revokes the caller’s active grants, after which Codex can no longer refresh with them', async () => {
    const home = freshHome();
    await sync(['codex', '--home', home]);
    const grant = JSON.parse(readFileSync(join(home, '.codex/auth.json'), 'utf8')).tokens.refresh_token as string;
    const run = await sync(['--revoke']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^revoked \d+ grants?\n$/);
    const refresh = await api.call('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: grant },
    });
    expect(refresh.status).toBe(401);
    const left = await api.call<{ grants: { status: string }[] }>('GET', '/v1/me/grants', { as: 'alice' });
    expect(left.body.grants.filter((g) => g.status === 'active')).toEqual([]);
  });

  it('exits 2 on a bad --hours and 1 when the provider has no account, writing nothing', async () => {
    const home = freshHome();
    const bad = await sync(['codex', '--home', home, '--hours', 'soon']);
    expect(bad.code).toBe(2);
    const none = await sync(['bob', '--home', home]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('provider_not_configured');
    expect(readdirSync(home)).toEqual([]);
  });
});

describe('writeWorkstationFiles', () => {
  it('refuses a path outside the home directory, directly or through a link, and writes nothing', async () => {
    const home = freshHome();
    const outside = freshHome();
    const options = { now: NOW, dryRun: false };
    await expect(writeWorkstationFiles(home, [{ path: '../x', mode: 0o600, content: 'x' }], options)).rejects.toThrow(
      /outside the home directory/,
    );
    await expect(writeWorkstationFiles(home, [{ path: '/etc/x', mode: 0o600, content: 'x' }], options)).rejects.toThrow(
      /outside the home directory/,
    );
    symlinkSync(outside, join(home, '.codex'));
    await expect(
      writeWorkstationFiles(home, [{ path: '.codex/auth.json', mode: 0o600, content: 'x' }], options),
    ).rejects.toThrow(/outside the home directory/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('does not replace a symbolic link with a file', async () => {
    const home = freshHome();
    mkdirSync(join(home, '.codex'));
    symlinkSync('/dev/null', join(home, '.codex/auth.json'));
    await expect(
      writeWorkstationFiles(home, [{ path: '.codex/auth.json', mode: 0o600, content: 'x' }], {
        now: NOW,
        dryRun: false,
      }),
    ).rejects.toThrow(/not a regular file/);
  });
});

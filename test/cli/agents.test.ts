import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuthAccount } from '#shared/oauth/accounts.ts';
import { runOperator } from '#shared/operator/run.ts';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { type FakeAgentUpstream, REPLY, startFakeAgentUpstream } from '#test/helpers/fake-agent-upstream.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

const BIN = resolve('.cache/cli/node_modules/.bin');
const bin = (name: string) => join(BIN, name);

let oauth: OAuthServer;
let upstream: FakeAgentUpstream;
let api: TestApi;
let scripts: string;

/** An HS256 JWT: the CLIs read claims and expiry but do not verify signatures (CLI-FIDELITY.md). */
function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', 'throw-away').update(body).digest('base64url')}`;
}

function openaiClaims(expiresInSeconds: number): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://auth.openai.com',
    sub: 'user-1',
    aud: ['app_EMoamEEZ73f0CkXaXp7hrann'],
    iat: now,
    exp: now + expiresInSeconds,
    email: 'pool@example.test',
    'https://api.openai.com/auth': {
      chatgpt_account_id: 'acct_1',
      chatgpt_plan_type: 'pro',
      chatgpt_user_id: 'user-1',
      user_id: 'user-1',
    },
    'https://api.openai.com/profile': { email: 'pool@example.test' },
  };
}

beforeAll(async () => {
  if (!existsSync(bin('codex'))) throw new Error('run through npm run test:cli, which installs the CLIs');
  oauth = await startOAuthServer();
  upstream = await startFakeAgentUpstream();
  const overrides = oauth.overrides() as Record<string, Record<string, unknown>>;
  overrides.claude = { ...overrides.claude, cliBaseUrl: upstream.base };
  overrides.codex = {
    ...overrides.codex,
    cliBaseUrl: `${upstream.base}/backend-api/codex`,
    cliChatgptBaseUrl: `${upstream.base}/backend-api/`,
  };
  overrides.gemini = { ...overrides.gemini, cliBaseUrl: upstream.base };
  api = await startTestApi({ KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(overrides) }, { runner: 'local' });
  scripts = mkdtempSync(join(tmpdir(), 'kf-cli-'));
});
afterAll(async () => {
  await api?.stop();
  await upstream?.close();
  await oauth?.close();
});

async function run(provider: string, command: string[], extra: Record<string, unknown> = {}) {
  const res = await api.call<{ launch: { id: string } }>('POST', '/v1/launches', {
    as: 'alice',
    body: { provider, maxDurationMinutes: 30, ecs: { command }, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const done = await api.runner?.wait(res.body.launch.id);
  return { launchId: res.body.launch.id, exitCode: done?.exitCode, output: done?.output ?? '', home: done?.home ?? '' };
}

/** Everything the task left in its home directory, as text. */
function homeContents(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += readFileSync(join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

describe('Claude Code 2.1.330', () => {
  it('sends the injected OAuth access token as its bearer to ANTHROPIC_BASE_URL', async () => {
    const account = await signIn(api, oauth, 'claude', 'claude-cli');
    const token = String((await readSecret(`keyfleet/test/claude/${account.id}`)).value.access_token);
    const before = upstream.requests.length;
    const result = await run('claude', [bin('claude'), '-p', 'say hi'], { effort: 'high' });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const call = upstream.requests.slice(before).find((r) => r.path.startsWith('/v1/messages'));
    expect(call?.headers.authorization).toBe(`Bearer ${token}`);
    expect(String(call?.headers['anthropic-beta'])).toContain('oauth-2025-04-20');
    expect(JSON.parse(call?.body ?? '{}').output_config).toEqual({ effort: 'high' });
  });
});

/** A team Codex OAuth account whose access and id tokens (ChatGPT-shaped JWTs) last two more hours. */
async function pooledCodexAccount(refreshToken: string, label: string) {
  const pooledAccess = jwt(openaiClaims(2 * 3600));
  const { account } = await createOAuthAccount({
    provider: 'codex',
    scope: { owner: null },
    tokens: {
      access_token: pooledAccess,
      refresh_token: refreshToken,
      id_token: jwt(openaiClaims(2 * 3600)),
      token_type: 'Bearer',
      scope: 'openid profile email offline_access',
      expires_at: Date.now() + 2 * 3600_000,
      account_id: 'acct_1',
    },
    label,
    email: 'pool@example.test',
    actor: 'test',
  });
  return { account, pooledAccess };
}

describe('Codex CLI 0.169.0', () => {
  it('refreshes an expired access JWT through Keyfleet and calls the model with the pooled token', async () => {
    const { account, pooledAccess } = await pooledCodexAccount('pooled-refresh-token-never-leaves-0001', 'pooled');
    // The task has been running long enough that the token in its auth.json has expired.
    const wrapper = join(scripts, 'codex-expired.mjs');
    writeFileSync(
      wrapper,
      `import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
const file = process.env.HOME + '/.codex/auth.json';
const auth = JSON.parse(readFileSync(file, 'utf8'));
auth.tokens.access_token = ${JSON.stringify(jwt(openaiClaims(-3600)))};
writeFileSync(file, JSON.stringify(auth));
const r = spawnSync(${JSON.stringify(bin('codex'))}, ['exec', '--skip-git-repo-check', 'say hi'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
`,
    );
    const before = upstream.requests.length;
    const result = await run('codex', [process.execPath, wrapper], { preferredAccountId: account.id });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const seen = upstream.requests.slice(before);
    const model = seen.find((r) => r.path.endsWith('/codex/responses'));
    expect(model?.headers.authorization).toBe(`Bearer ${pooledAccess}`);
    expect(model?.headers['chatgpt-account-id']).toBe('acct_1');
    const audit = await api.call<{ events: { action: string }[] }>('GET', '/v1/audit?limit=20');
    expect(audit.body.events.map((e) => e.action)).toContain('ticket.redeemed');
    expect(result.output).not.toContain('pooled-refresh-token-never-leaves-0001');
    // Codex rewrote auth.json with what Keyfleet answered; the real refresh token is nowhere in it.
    const files = homeContents(result.home);
    expect(files).toContain(pooledAccess);
    expect(files).not.toContain('pooled-refresh-token-never-leaves-0001');
  });
});

describe('Gemini CLI 0.61.0', () => {
  it('uses the injected access token against CODE_ASSIST_ENDPOINT', async () => {
    const account = await signIn(api, oauth, 'gemini', 'gemini-cli');
    const token = String((await readSecret(`keyfleet/test/gemini/${account.id}`)).value.access_token);
    const before = upstream.requests.length;
    const result = await run('gemini', [bin('gemini'), '-p', 'say hi'], { preferredAccountId: account.id });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const calls = upstream.requests.slice(before).filter((r) => r.path.startsWith('/v1internal'));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.headers.authorization).toBe(`Bearer ${token}`);
    const refreshToken = String((await readSecret(`keyfleet/test/gemini/${account.id}`)).value.refresh_token);
    expect(homeContents(result.home)).not.toContain(refreshToken);
  });

  it('uses an API-key account through GOOGLE_GEMINI_BASE_URL', async () => {
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/gemini/accounts', {
      body: {
        kind: 'api_key',
        label: 'Gemini key',
        apiKey: 'AIza-fake-gemini-cli-key-0001',
        endpoint: { type: 'custom', baseUrl: upstream.base },
      },
    });
    const before = upstream.requests.length;
    const result = await run('gemini', [bin('gemini'), '-p', 'say hi'], { preferredAccountId: added.body.account.id });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const call = upstream.requests.slice(before).find((r) => r.path.includes(':streamGenerateContent'));
    expect(call?.headers['x-goog-api-key']).toBe('AIza-fake-gemini-cli-key-0001');
  });
});

/** Only the proxy reports usage: a launch with usage was served through it. */
async function servedByProxy(launchId: string): Promise<void> {
  const shown = await api.call<{ launch: { delivery: string; usage?: { requests: number } } }>(
    'GET',
    `/v1/launches/${launchId}`,
    { as: 'alice' },
  );
  expect(shown.body.launch.delivery).toBe('proxy');
  expect(shown.body.launch.usage?.requests).toBeGreaterThan(0);
}

describe('delivery "proxy": a real launch in local mode, the real CLI, placeholders only', () => {
  it('Claude Code completes a prompt through keyfleet proxy, and the OAuth token never reaches the agent', async () => {
    const account = await signIn(api, oauth, 'claude', 'claude-proxy');
    const token = String((await readSecret(`keyfleet/test/claude/${account.id}`)).value.access_token);
    const before = upstream.requests.length;
    const result = await run('claude', [bin('claude'), '-p', 'say hi'], {
      preferredAccountId: account.id,
      delivery: 'proxy',
    });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const call = upstream.requests.slice(before).find((r) => r.path.startsWith('/v1/messages'));
    expect(call?.headers.authorization).toBe(`Bearer ${token}`);
    expect(result.output).not.toContain(token);
    expect(homeContents(result.home)).not.toContain(token);
    await servedByProxy(result.launchId);
  });

  it('Gemini CLI completes a prompt through keyfleet proxy with an API key the agent never holds', async () => {
    const key = 'AIza-fake-gemini-proxy-key-0002';
    const added = await api.call<{ account: { id: string } }>('POST', '/v1/providers/gemini/accounts', {
      body: {
        kind: 'api_key',
        label: 'Gemini proxy key',
        apiKey: key,
        endpoint: { type: 'custom', baseUrl: upstream.base },
      },
    });
    const before = upstream.requests.length;
    const result = await run('gemini', [bin('gemini'), '-p', 'say hi'], {
      preferredAccountId: added.body.account.id,
      delivery: 'proxy',
    });
    expect(result.output).toContain(REPLY);
    expect(result.exitCode).toBe(0);
    const call = upstream.requests.slice(before).find((r) => r.path.includes(':streamGenerateContent'));
    expect(call?.headers['x-goog-api-key']).toBe(key);
    expect(result.output).not.toContain(key);
    expect(homeContents(result.home)).not.toContain(key);
    await servedByProxy(result.launchId);
  });
});

/** `keyfleet sync <provider> --account <id>` as alice, in process, into a fresh HOME; answers the exported variables. */
async function syncInto(
  provider: string,
  accountId: string,
): Promise<{ home: string; exports: Record<string, string> }> {
  const home = mkdtempSync(join(tmpdir(), 'kf-workstation-'));
  let stdout = '';
  let stderr = '';
  const code = await runOperator(['sync', provider, '--home', home, '--account', accountId], {
    env: { KEYFLEET_URL: api.base, KEYFLEET_TOKEN: TOKENS.alice },
    stdin: Readable.from([]),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  expect(code, stderr).toBe(0);
  const exports: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const match = /^export ([A-Z_]+)='([^']*)'$/.exec(line);
    if (!match?.[1]) throw new Error(`not an export line: ${line}`);
    exports[match[1]] = match[2] ?? '';
  }
  return { home, exports };
}

/** Runs a real CLI as a person would after `keyfleet sync`: their HOME, the exported variables, a clean environment. */
function workstation(
  command: string,
  args: string[],
  home: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'kf-work-'));
  return new Promise((done) => {
    const child = execFile(
      command,
      args,
      { cwd, timeout: 90_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
    // A person's terminal, not a pipe left open: Codex would wait for more input on stdin.
    child.stdin?.end();
  });
}

describe('keyfleet sync on a workstation', () => {
  it('Claude Code completes a prompt with the synced .credentials.json, which holds no refresh token', async () => {
    const account = await signIn(api, oauth, 'claude', 'claude-workstation');
    const stored = (await readSecret(`keyfleet/test/claude/${account.id}`)).value;
    const { home, exports } = await syncInto('claude', account.id);
    expect(Object.keys(exports).sort()).toEqual([
      'ANTHROPIC_BASE_URL',
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'CLAUDE_CODE_OAUTH_TOKEN',
    ]);
    const credentials = JSON.parse(readFileSync(join(home, '.claude/.credentials.json'), 'utf8'));
    expect(credentials.claudeAiOauth.refreshToken).toBeNull();
    // Without CLAUDE_CODE_OAUTH_TOKEN: the CLI has to read the file.
    const { CLAUDE_CODE_OAUTH_TOKEN: _fromFile, ...gateway } = exports;
    const before = upstream.requests.length;
    const result = await workstation(bin('claude'), ['-p', 'say hi'], home, gateway);
    expect(result.output).toContain(REPLY);
    expect(result.code).toBe(0);
    const call = upstream.requests.slice(before).find((r) => r.path.startsWith('/v1/messages'));
    expect(call?.headers.authorization).toBe(`Bearer ${stored.access_token}`);
    expect(homeContents(home)).not.toContain(String(stored.refresh_token));
  });

  it('Codex CLI refreshes its expired access token through Keyfleet with the grant, then calls the model', async () => {
    const { account, pooledAccess } = await pooledCodexAccount(
      'pooled-refresh-token-workstation-0001',
      'pooled for workstations',
    );
    const { home, exports } = await syncInto('codex', account.id);
    expect(exports).toEqual({ CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${api.base}/v1/oauth/codex/token` });
    const file = join(home, '.codex/auth.json');
    const synced = JSON.parse(readFileSync(file, 'utf8'));
    const grant = String(synced.tokens.refresh_token);
    expect(grant).toMatch(/^kfg_/);
    // Days later: the access token Keyfleet wrote has expired.
    synced.tokens.access_token = jwt(openaiClaims(-3600));
    writeFileSync(file, JSON.stringify(synced));
    const before = upstream.requests.length;
    const result = await workstation(bin('codex'), ['exec', '--skip-git-repo-check', 'say hi'], home, exports);
    expect(result.output).toContain(REPLY);
    expect(result.code).toBe(0);
    const model = upstream.requests.slice(before).find((r) => r.path.endsWith('/codex/responses'));
    expect(model?.headers.authorization).toBe(`Bearer ${pooledAccess}`);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after.tokens.access_token).toBe(pooledAccess);
    expect(after.tokens.refresh_token).toBe(grant);
    expect(homeContents(home)).not.toContain('pooled-refresh-token-workstation-0001');
  });

  it('Gemini CLI completes a prompt with the synced access token against CODE_ASSIST_ENDPOINT', async () => {
    const account = await signIn(api, oauth, 'gemini', 'gemini-workstation');
    const stored = (await readSecret(`keyfleet/test/gemini/${account.id}`)).value;
    const { home, exports } = await syncInto('gemini', account.id);
    expect(exports.GOOGLE_CLOUD_ACCESS_TOKEN).toBe(stored.access_token);
    const before = upstream.requests.length;
    // Trusting the folder is the person's own choice on a workstation; -p needs it.
    const result = await workstation(bin('gemini'), ['-p', 'say hi'], home, {
      ...exports,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
    });
    expect(result.output).toContain(REPLY);
    expect(result.code).toBe(0);
    const calls = upstream.requests.slice(before).filter((r) => r.path.startsWith('/v1internal'));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.headers.authorization).toBe(`Bearer ${stored.access_token}`);
    expect(homeContents(home)).not.toContain(String(stored.refresh_token));
  });
});

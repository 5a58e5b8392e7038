import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecret } from '#shared/vault/vault.ts';
import { startTestApi, type TestApi } from '#test/helpers/api.ts';
import { type OAuthServer, startOAuthServer } from '#test/helpers/oauth-server.ts';
import { signIn } from '#test/helpers/sign-in.ts';

let oauth: OAuthServer;
let api: TestApi;
let probe: string;

beforeAll(async () => {
  oauth = await startOAuthServer();
  api = await startTestApi({ KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(oauth.overrides()) }, { runner: 'local' });
  // What an agent CLI would see: its variables, its files, and what Keyfleet's refresh route answers.
  probe = join(mkdtempSync(join(tmpdir(), 'kf-probe-')), 'probe.mjs');
  writeFileSync(
    probe,
    `import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const home = process.env.HOME;
const files = {};
for (const p of ['.codex/auth.json', '.codex/config.toml', '.claude.json']) {
  const f = join(home, p);
  if (existsSync(f)) files[p] = { mode: (statSync(f).mode & 0o777).toString(8), content: readFileSync(f, 'utf8') };
}
let refresh = null;
if (process.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE) {
  const auth = JSON.parse(files['.codex/auth.json'].content);
  const res = await fetch(process.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'app_EMoamEEZ73f0CkXaXp7hrann', grant_type: 'refresh_token', refresh_reason: 'proactive_expiry', refresh_token: auth.tokens.refresh_token }) });
  refresh = { status: res.status, body: await res.json() };
}
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(KEYFLEET|CODEX|ANTHROPIC|CLAUDE|REPO)/.test(k)));
console.log('PROBE ' + JSON.stringify({ env, files, refresh }));
`,
  );
});
afterAll(async () => {
  await api.stop();
  await oauth.close();
});

function probeOutput(output: string): {
  env: Record<string, string>;
  files: Record<string, { mode: string; content: string }>;
  refresh: { status: number; body: Record<string, unknown> } | null;
} {
  const line = output.split('\n').find((l) => l.startsWith('PROBE '));
  if (!line) throw new Error(`no probe output:\n${output}`);
  return JSON.parse(line.slice(6));
}

describe('local mode: sign in, launch, and the task sees its credentials', () => {
  it('runs a Codex task whose refresh goes to Keyfleet and returns the pooled tokens', async () => {
    const account = await signIn(api, oauth, 'codex', 'local-user');
    const res = await api.call<{ launch: { id: string; taskArn: string } }>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'codex', ecs: { command: [process.execPath, probe], environment: { REPO: 'org/app' } } },
    });
    expect(res.status).toBe(201);
    expect(res.body.launch.taskArn).toBe(`local:task/${res.body.launch.id}`);
    const done = await api.runner?.wait(res.body.launch.id);
    expect(done?.exitCode).toBe(0);
    const seen = probeOutput(done?.output ?? '');

    expect(seen.env.KEYFLEET_TICKET).toBeUndefined();
    expect(seen.env.KEYFLEET_TASK_TOKEN).toMatch(/^kft_/);
    expect(seen.env.REPO).toBe('org/app');
    expect(seen.env.CODEX_REFRESH_TOKEN_URL_OVERRIDE).toBe(`${api.base}/v1/oauth/codex/token`);
    expect(seen.files['.codex/auth.json']?.mode).toBe('600');
    expect(seen.files['.codex/config.toml']?.content).toContain('metrics_exporter = "none"');

    const stored = (await readSecret(`keyfleet/test/codex/${account.id}`)).value;
    expect(seen.refresh).toEqual({
      status: 200,
      body: {
        access_token: stored.access_token,
        id_token: stored.id_token,
        refresh_token: seen.env.KEYFLEET_TASK_TOKEN,
        token_type: 'Bearer',
        expires_in: expect.any(Number),
      },
    });
    // Nothing the task saw is the pooled account's real refresh token.
    expect(JSON.stringify(seen)).not.toContain(String(stored.refresh_token));

    // The task has ended: its token is revoked, as ECS's STOPPED event does in the cloud.
    const after = await api.call('POST', '/v1/oauth/codex/token', {
      body: { grant_type: 'refresh_token', refresh_token: seen.env.KEYFLEET_TASK_TOKEN },
    });
    expect(after.status).toBe(401);
    const shown = await api.call<{ launch: { status: string; stoppedAt?: string } }>(
      'GET',
      `/v1/launches/${res.body.launch.id}`,
      { as: 'alice' },
    );
    expect(shown.body.launch).toMatchObject({ status: 'stopped', stoppedAt: expect.any(String) });
  });

  it('runs a Claude task with an API-key account', async () => {
    await api.call('POST', '/v1/providers/claude/accounts', {
      body: {
        kind: 'api_key',
        label: 'Claude',
        apiKey: 'sk-ant-api03-local-e2e-key-0003',
        endpoint: { type: 'custom', baseUrl: 'http://127.0.0.1:9/anthropic' },
      },
    });
    const res = await api.call<{ launch: { id: string } }>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'claude', effort: 'high', ecs: { command: [process.execPath, probe] } },
    });
    const done = await api.runner?.wait(res.body.launch.id);
    const seen = probeOutput(done?.output ?? '');
    expect(seen.env).toMatchObject({
      ANTHROPIC_API_KEY: 'sk-ant-api03-local-e2e-key-0003',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/anthropic',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_EFFORT_LEVEL: 'high',
    });
    expect(JSON.parse(seen.files['.claude.json']?.content ?? '{}')).toMatchObject({ hasCompletedOnboarding: true });
  });

  it('requires a command in local mode', async () => {
    const res = await api.call('POST', '/v1/launches', { as: 'alice', body: { provider: 'claude' } });
    expect(res.status).toBe(400);
  });
});

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OperatorIo } from '#shared/operator/io.ts';
import { operatorHelp, runOperator } from '#shared/operator/run.ts';
import { startOAuthApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { capturedLogs } from '#test/helpers/logs.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { sigv4Verified } from '#test/helpers/sigv4.ts';

let api: TestApi;
let oauth: OAuthServer;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ api, oauth, stop } = await startOAuthApi());
});
afterAll(async () => stop());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(onWrite?: (all: string) => void) {
  let text = '';
  return {
    get text() {
      return text;
    },
    write: (chunk: string) => {
      text += chunk;
      onWrite?.(text);
      return true;
    },
  };
}

/** Runs `keyfleet …` in process against the test API, with `input` lines piped to stdin. */
async function cli(
  argv: string[],
  options: { as?: keyof typeof TOKENS; input?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const stdout = sink();
  const stderr = sink();
  const io: OperatorIo = {
    env: { KEYFLEET_URL: api.base, KEYFLEET_TOKEN: TOKENS[options.as ?? 'admin'], ...options.env },
    stdin: Readable.from(options.input === undefined ? [] : [options.input]),
    stdout,
    stderr,
  };
  const code = await runOperator(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A sign-in driven like a person at a terminal: reads the link from stderr, answers on stdin. */
async function interactiveLogin(argv: string[], answer: (stderr: string) => Promise<string | undefined>): Promise<Run> {
  const stdin = new PassThrough();
  let answered = false;
  const stderr = sink((all) => {
    if (answered || !/Paste/.test(all)) return;
    answered = true;
    void answer(all).then((line) => stdin.end(line === undefined ? '' : `${line}\n`));
  });
  const stdout = sink();
  const code = await runOperator(argv, {
    env: { KEYFLEET_URL: api.base, KEYFLEET_TOKEN: TOKENS.admin },
    stdin,
    stdout,
    stderr,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The authorize link: the last address printed before the prompt. */
const linkIn = (text: string): string => text.match(/https?:\/\/\S+/g)?.at(-1) ?? '';

/** Adds a team API-key account through the API; the commands under test find it by label. */
async function addKey(provider: string, label: string, apiKey: string): Promise<string> {
  const res = await api.call<{ account: { id: string } }>('POST', `/v1/providers/${provider}/accounts`, {
    body: { kind: 'api_key', label, apiKey },
  });
  expect(res.status).toBe(201);
  return res.body.account.id;
}

describe('keyfleet operator commands', () => {
  it('lists every operator command in the help, each with its own --help', async () => {
    const help = operatorHelp();
    for (const name of [
      'providers',
      'accounts',
      'login',
      'add-key',
      'add-keyless',
      'activate',
      'pool',
      'rename',
      'remove',
      'test',
      'keepalive',
      'settings',
      'env',
      'launch',
      'launches',
      'audit',
      'finance',
      'me <command>',
    ])
      expect(help).toContain(`keyfleet ${name}`);
    const one = await cli(['add-key', '--help']);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toContain('usage: keyfleet add-key <provider> --label L');
  });

  it('prints the providers as the API answers them with --json, and as a table without', async () => {
    const json = await cli(['providers', '--json']);
    expect(json.code).toBe(0);
    const direct = await api.call<{ providers: { id: string }[] }>('GET', '/v1/providers');
    expect(JSON.parse(json.stdout)).toEqual(direct.body);
    const human = await cli(['providers']);
    expect(human.stdout.split('\n')[0]).toMatch(/^PROVIDER\s+SIGN-IN\s+ACCOUNTS\s+ACTIVE\s+POOL\s+MODEL\s+KEEP-ALIVE$/);
    expect(human.stdout).toMatch(/\ngrok\s+device\s+/);
  });

  it('adds an API-key account from stdin without the key ever appearing in output, logs or the table', async () => {
    const key = 'sk-ant-api03-operator-cli-secret-KEY-1234';
    const argv = ['add-key', 'claude', '--label', 'CLI key', '--json'];
    const run = await cli(argv, { input: `${key}\n` });
    expect(run.code).toBe(0);
    const { account } = JSON.parse(run.stdout);
    expect(account).toMatchObject({ provider: 'claude', kind: 'api_key', label: 'CLI key', keyHint: '…1234' });
    for (const place of [run.stdout, run.stderr, capturedLogs(), await api.tableDump()])
      expect(place).not.toContain(key);
  });

  it('activates by label, clears with none, and reports the API refusing the pool for an API-key account', async () => {
    await addKey('claude', 'First key', 'sk-ant-api03-operator-first-key-0001');
    const id = await addKey('claude', 'CLI key', 'sk-ant-api03-operator-cli-key-0002');
    const active = await cli(['activate', 'claude', 'cli key']);
    expect(active).toMatchObject({ code: 0 });
    expect(active.stdout).toBe(`claude: active account ${id}\n`);
    const pool = await cli(['pool', 'claude', 'CLI key', 'on']);
    expect(pool.code).toBe(1);
    expect(pool.stderr).toMatch(/^keyfleet: conflict: /);
    const cleared = await cli(['activate', 'claude', 'none', '--json']);
    expect(JSON.parse(cleared.stdout).provider.activeAccountId).toBeNull();
  });

  it('renames, and removes only after a yes', async () => {
    await addKey('claude', 'CLI key', 'sk-ant-api03-operator-cli-key-0002');
    expect((await cli(['rename', 'claude', 'CLI key', 'Renamed key'])).stdout).toContain('label        Renamed key');
    const declined = await cli(['remove', 'claude', 'Renamed key'], { input: 'n\n' });
    expect(declined).toMatchObject({ code: 2 });
    expect(declined.stderr).toContain('Remove claude account "Renamed key"');
    expect((await cli(['accounts', 'claude'])).stdout).toContain('Renamed key');
    const confirmed = await cli(['remove', 'claude', 'Renamed key'], { input: 'y\n' });
    expect(confirmed.code).toBe(0);
    expect((await cli(['accounts', 'claude'])).stdout).not.toContain('Renamed key');
  });

  it('signs in Claude with the pasted code#state and Codex with the pasted address', async () => {
    const claude = await interactiveLogin(
      ['login', 'claude', '--label', 'Claude via CLI', '--json'],
      async (stderr) => {
        const back = new URL(await oauth.authorize(linkIn(stderr), 'cli-claude'));
        return `${back.searchParams.get('code')}#${back.searchParams.get('state')}`;
      },
    );
    expect(claude.code).toBe(0);
    expect(JSON.parse(claude.stdout).account).toMatchObject({
      provider: 'claude',
      kind: 'oauth',
      label: 'Claude via CLI',
    });

    const codex = await interactiveLogin(['login', 'codex'], async (stderr) =>
      oauth.authorize(linkIn(stderr), 'cli-codex'),
    );
    expect(codex.code).toBe(0);
    expect(codex.stdout).toContain('email        cli-codex@example.test');
  });

  it('waits for a Grok device approval, polling at the interval, then prints the account', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const stderr = sink();
      const stdout = sink();
      let approved = false;
      const sleeps: number[] = [];
      const code = await runOperator(['login', 'grok', '--json'], {
        env: { KEYFLEET_URL: api.base, KEYFLEET_TOKEN: TOKENS.admin },
        stdin: Readable.from([]),
        stdout,
        stderr,
        sleep: async (ms) => {
          sleeps.push(ms);
          if (!approved) {
            approved = true;
            const complete = /\(or open (\S+)\)/.exec(stderr.text)?.[1] ?? '';
            await oauth.approveDevice(complete, 'cli-grok');
          }
          vi.setSystemTime(Date.now() + ms);
        },
      });
      expect({ code, err: code === 0 ? '' : stderr.text }).toEqual({ code: 0, err: '' });
      expect(JSON.parse(stdout.text).account).toMatchObject({ provider: 'grok', email: 'cli-grok@example.test' });
      expect(stderr.text).toMatch(/Open \S+ and enter the code [A-Z]{4}-[A-Z]{4}\n/);
      expect(sleeps.every((ms) => ms === 5_000)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('changes keep-alive and shows the API refusing 25 hours', async () => {
    const bad = await cli(['keepalive', 'claude', '--interval', '25']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^keyfleet: validation_failed: /);
    const good = await cli(['keepalive', 'claude', '--enable', '--interval', '6', '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout).keepalive.claude).toMatchObject({ enabled: true, intervalHours: 6 });
  });

  it('sets the default agent and a model', async () => {
    const run = await cli(['settings', '--default-agent', 'codex', '--model', 'codex=gpt-5-codex', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ defaultAgent: 'codex', models: { codex: 'gpt-5-codex' } });
  });

  it('updates a finance record and reads the audit log', async () => {
    const finance = await cli(['finance', 'claude', '--billing', 'usage', '--budget', '250', '--json']);
    expect(finance.code).toBe(0);
    expect(JSON.parse(finance.stdout).records).toContainEqual(
      expect.objectContaining({ provider: 'claude', billing: 'usage', monthlyBudgetUsd: 250 }),
    );
    const id = await addKey('grok', 'Audited', 'xai-operator-audited-key-0003');
    for (const label of ['Audited 1', 'Audited 2', 'Audited 3', 'Audited 4']) {
      await api.call('PATCH', `/v1/providers/grok/accounts/${id}`, { body: { label } });
    }
    const audit = await cli(['audit', '--limit', '5', '--json']);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).events.map((e: { action: string }) => e.action)).toEqual([
      'account.renamed',
      'account.renamed',
      'account.renamed',
      'account.renamed',
      'account.added',
    ]);
  });

  it('lets a member manage their own accounts and preferences but not the team settings', async () => {
    const key = 'sk-member-personal-key-9876';
    const added = await cli(['me', 'add-key', 'codex', '--label', 'Mine', '--json'], { as: 'alice', input: key });
    expect(added.code).toBe(0);
    const mine = JSON.parse(added.stdout).account;
    expect(mine).toMatchObject({ owner: 'alice', label: 'Mine' });
    const prefs = await cli(['me', 'preferences', 'codex', '--account', 'Mine', '--effort', 'high', '--json'], {
      as: 'alice',
    });
    expect(prefs.code).toBe(0);
    expect(JSON.parse(prefs.stdout).providers.codex).toEqual({ preferredAccountId: mine.id, effort: 'high' });
    const refused = await cli(['settings', '--default-agent', 'grok'], { as: 'alice' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^keyfleet: forbidden: /);
  });

  it('answers usage errors with exit code 2 and the usage line', async () => {
    const unknown = await cli(['accounts', 'openai']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe(
      'keyfleet: unknown provider "openai" (one of claude, codex, gemini, bob, grok)\nusage: keyfleet accounts [provider]\n',
    );
    expect((await cli(['add-key', 'claude'], { input: 'k' })).code).toBe(2);
    expect((await cli(['providers', '--bogus'])).code).toBe(2);
    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['providers'], { env: { KEYFLEET_URL: '' } })).stderr).toContain('KEYFLEET_URL is not set');
  });
});

describe('keyfleet with IAM auth', () => {
  let server: Server;
  let base: string;
  const seen: { verified: boolean; path: string }[] = [];
  const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret-access-key' };

  const verify = (req: IncomingMessage, body: string) =>
    sigv4Verified(req, body, { base, region: 'eu-west-1', credentials });

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const verified = await verify(req, body);
      seen.push({ verified, path: req.url ?? '' });
      res.writeHead(verified ? 200 : 403, { 'content-type': 'application/json' });
      res.end(verified ? JSON.stringify({ providers: [] }) : JSON.stringify({ message: 'Forbidden' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // Each test sees only the requests it signed, and leaves no credentials in the environment.
  beforeEach(() => {
    seen.length = 0;
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('signs requests with SigV4 from the standard credential chain, verified by the same library', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    const stdout = sink();
    const stderr = sink();
    const code = await runOperator(['providers', '--json'], {
      env: { KEYFLEET_URL: base, AWS_REGION: 'eu-west-1' },
      stdin: Readable.from([]),
      stdout,
      stderr,
    });
    // fromNodeProviderChain reads the process environment.
    expect({ code, stderr: stderr.text }).toEqual({ code: 0, stderr: '' });
    expect(seen).toEqual([{ verified: true, path: '/v1/providers' }]);
    expect(stdout.text).not.toContain(credentials.secretAccessKey);
    vi.unstubAllEnvs();
  });

  it('is refused when the signature does not match', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'a-different-secret');
    const stderr = sink();
    const code = await runOperator(['providers'], {
      env: { KEYFLEET_URL: base, AWS_REGION: 'eu-west-1' },
      stdin: Readable.from([]),
      stdout: sink(),
      stderr,
    });
    vi.unstubAllEnvs();
    expect(code).toBe(1);
    expect(stderr.text).toBe('keyfleet: forbidden: Keyfleet answered HTTP 403.\n');
    expect(seen).toEqual([{ verified: false, path: '/v1/providers' }]);
  });
});

describe('keyfleet accounts shows the usage windows', () => {
  it('lists each OAuth account’s windows with percent and reset time, unknown before a read, and - for API keys', async () => {
    const { signIn } = await import('#test/helpers/sign-in.ts');
    const { storeUsage } = await import('#shared/accounts/store.ts');
    const readAt = '2026-03-02T10:00:00.000Z';
    const window = (name: string, usedPercent: number, resetsAt: string | null) => ({ name, usedPercent, resetsAt });
    const read = [
      await signIn(api, oauth, 'codex', 'usage-cli-1'),
      await signIn(api, oauth, 'codex', 'usage-cli-2'),
      await signIn(api, oauth, 'codex', 'usage-cli-3'),
    ];
    const usages = [
      [window('five_hour', 97, '2026-03-02T12:00:00.000Z'), window('seven_day', 40, '2026-03-06T00:00:00.000Z')],
      [window('five_hour', 12.5, '2026-03-02T13:30:00.000Z')],
      [window('five_hour', 55, null)],
    ];
    for (const [i, account] of read.entries()) {
      await storeUsage('codex', account.id, {
        usage: { plan: 'pro', readAt, windows: usages[i] ?? [], credits: null },
        usageNextReadAt: '2026-03-02T10:10:00.000Z',
        usageError: null,
      });
    }
    const unread = await signIn(api, oauth, 'codex', 'usage-cli-unread');
    expect((await cli(['add-key', 'codex', '--label', 'Usage key'], { input: 'sk-usage-cli-key-0042\n' })).code).toBe(
      0,
    );

    const run = await cli(['accounts', 'codex']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/ USAGE$/);
    const line = (id: string) => lines.find((l) => l.includes(id)) ?? '';
    expect(line(read[0]?.id ?? '')).toMatch(/ 5h 97% until 03-02 12:00Z, 7d 40% until 03-06 00:00Z$/);
    expect(line(read[1]?.id ?? '')).toMatch(/ 5h 12\.5% until 03-02 13:30Z$/);
    expect(line(read[2]?.id ?? '')).toMatch(/ 5h 55%$/);
    expect(line(unread.id)).toMatch(/ unknown$/);
    expect(lines.find((l) => l.includes('Usage key'))).toMatch(/ -$/);
  });
});

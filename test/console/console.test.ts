import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProviderState } from '#shared/accounts/state.ts';
import { storeUsage } from '#shared/accounts/store.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { usageDue, usageReadTasks } from '#shared/usage/sweep.ts';
import { readSecret, secretName } from '#shared/vault/vault.ts';
import { startOAuthApi, type TestApi, TOKENS } from '#test/helpers/api.ts';
import { type FakeProviderApi, startFakeProviderApi } from '#test/helpers/fake-provider-api.ts';
import { type FakeUsage, type FakeUsageAccount, startFakeUsage } from '#test/helpers/fake-usage.ts';
import type { OAuthServer } from '#test/helpers/oauth-server.ts';
import { buildConsole } from '../../web/build.ts';
import { checkScreen, launchChromium, SCREENSHOTS, watchPage } from './harness.ts';

const CODEX_KEY = 'sk-console-codex-key-7f3a9c21';
const GEMINI_KEY = 'AIza-console-gemini-key-51d2e8';

let api: TestApi;
let oauth: OAuthServer;
let fake: FakeProviderApi;
let browser: Browser;
let stopApi: () => Promise<void>;
let usage: FakeUsage;
/** What the fake usage endpoints answer per account id. */
const usageProfiles = new Map<string, FakeUsageAccount & { provider: ProviderId }>();
/** Every secret value the tests used or the vault holds; none may reach a page or its storage. */
const secrets = new Set<string>([TOKENS.admin, TOKENS.alice, TOKENS.bob, CODEX_KEY, GEMINI_KEY]);

beforeAll(async () => {
  fake = await startFakeProviderApi();
  fake.validKeys.add(CODEX_KEY);
  usage = await startFakeUsage();
  // The provider knows every token its OAuth server issued: look a bearer up in the accounts' secrets.
  usage.lookup = async (token) => {
    for (const [id, profile] of usageProfiles) {
      if ((await readSecret(secretName(profile.provider, id))).value.access_token === token) return profile;
    }
    return undefined;
  };
  const started = await startOAuthApi(
    (overrides) => {
      overrides.claude = { ...overrides.claude, usageEndpoint: usage.endpoints.claude };
      overrides.codex = { ...overrides.codex, usageEndpoint: usage.endpoints.codex };
    },
    {},
    { runner: 'local' },
  );
  ({ api, oauth, stop: stopApi } = started);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stopApi?.();
  await fake?.close();
  await usage?.close();
});

interface Session {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

/** A fresh browser profile signed in with `token` through the login form. */
async function signInAs(token: string): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(api.base);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  return { context, page, problems };
}

async function go(page: Page, screen: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: screen, exact: true }).click();
  await page.getByRole('heading', { level: 2, name: screen }).first().waitFor();
}

function card(page: Page, provider: string): Locator {
  return page.locator('article.card').filter({ has: page.getByRole('heading', { level: 3, name: provider }) });
}

function row(page: Page, label: string): Locator {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 4, name: label, exact: true }) });
}

/** Adds what the vault now holds for an account to the secrets no page may show. */
async function rememberVault(provider: ProviderId, accountId: string): Promise<void> {
  const { value } = await readSecret(secretName(provider, accountId));
  for (const v of Object.values(value)) if (typeof v === 'string' && v.length >= 12) secrets.add(v);
}

async function accountByLabel(provider: ProviderId, label: string) {
  const res = await api.call<{
    provider: { accounts: { id: string; label: string }[]; roundRobinAccountIds: string[] };
  }>('GET', `/v1/providers/${provider}`);
  return { account: res.body.provider.accounts.find((a) => a.label === label), provider: res.body.provider };
}

let admin: Session;

describe('the web console', () => {
  it('serves the page with a strict CSP, nosniff and no caching, and a bundle under 100 KB gzipped', async () => {
    const page = await fetch(`${api.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    const js = await fetch(`${api.base}/console/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const { gzipBytes } = await buildConsole();
    process.stderr.write(`console bundle: ${(gzipBytes / 1024).toFixed(1)} KB gzipped\n`);
    expect(gzipBytes).toBeLessThan(100 * 1024);
  });

  it('type-checks the console sources (web/tsconfig.json: DOM types, Preact JSX)', () => {
    const run = spawnSync(join('node_modules', '.bin', 'tsc'), ['--noEmit', '-p', join('web', 'tsconfig.json')], {
      encoding: 'utf8',
    });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('trades the token for an HttpOnly SameSite=Strict cookie that works only with the console header', async () => {
    admin = await signInAs(TOKENS.admin);
    const cookies = await admin.context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'keyfleet_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    secrets.add(cookies[0]?.value ?? '');
    const cookie = `keyfleet_session=${cookies[0]?.value}`;
    const plain = await fetch(`${api.base}/v1/providers`, { headers: { cookie } });
    expect(plain.status).toBe(401);
    const crossSite = await fetch(`${api.base}/v1/providers`, {
      headers: { cookie, 'x-keyfleet-console': '1', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(401);
    const console = await fetch(`${api.base}/v1/providers`, { headers: { cookie, 'x-keyfleet-console': '1' } });
    expect(console.status).toBe(200);
    const bad = await fetch(`${api.base}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-keyfleet-console': '1' },
      body: JSON.stringify({ token: 'not-a-token-at-all' }),
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const cards = admin.page.locator('article.card h3');
    await expect
      .poll(() => cards.allTextContents())
      .toEqual(['Claude (Anthropic)', 'Codex (OpenAI)', 'Gemini (Google)', 'Bob (IBM)', 'Grok (xAI)']);
    await checkScreen(admin.page, '01-providers-empty', secrets);
  });

  it('adds an API-key account with a custom endpoint, tests it, makes it active, renames it, clears active, removes it', async () => {
    const { page } = admin;
    await card(page, 'Codex (OpenAI)').getByRole('button', { name: 'Add Account for Codex (OpenAI)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Account: Codex (OpenAI)' });
    await dialog.getByRole('tab', { name: 'API Key' }).click();
    await dialog.getByLabel('Label', { exact: true }).fill('Fake gateway');
    await dialog.getByLabel('API key', { exact: true }).fill(CODEX_KEY);
    await dialog.getByRole('switch', { name: /Custom Endpoint/ }).check();
    await dialog.getByLabel('Endpoint type').selectOption('custom');
    await dialog.getByLabel('Base URL').fill('ftp://nowhere.example');
    await dialog.getByRole('button', { name: 'Add Account' }).click();
    // The API's message is shown and nothing typed is lost.
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/\S/);
    expect(await dialog.getByLabel('Label', { exact: true }).inputValue()).toBe('Fake gateway');
    await checkScreen(
      page,
      '02-add-account-api-key-error',
      [...secrets].filter((s) => s !== CODEX_KEY),
    );
    await dialog.getByLabel('Base URL').fill(`${fake.base}/v1`);
    await dialog.getByRole('button', { name: 'Add Account' }).click();
    await dialog.waitFor({ state: 'detached' });

    const account = row(page, 'Fake gateway');
    await account.getByText('…9c21').waitFor();
    await expect.poll(() => account.textContent()).toContain(`custom, ${fake.base}/v1`);
    expect(await account.textContent()).toContain('Round robin: for OAuth sign-ins only.');
    // The provider's first account became active; clear it to start from none.
    await account.getByRole('button', { name: 'Active (Fake gateway)' }).click();
    await account.getByRole('button', { name: 'Make active (Fake gateway)' }).waitFor();

    fake.seen.length = 0;
    await account.getByRole('button', { name: 'Test Fake gateway' }).click();
    await account.getByText('Test passed').waitFor();
    expect(fake.seen.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', '/v1/models', `Bearer ${CODEX_KEY}`],
    ]);

    await account.getByRole('button', { name: 'Make active (Fake gateway)' }).click();
    await account.getByText('Active', { exact: true }).first().waitFor();
    expect((await accountByLabel('codex', 'Fake gateway')).provider).toMatchObject({
      activeAccountId: (await accountByLabel('codex', 'Fake gateway')).account?.id,
    });
    await checkScreen(page, '03-providers-api-key-active', secrets);

    await account.getByRole('button', { name: 'Rename Fake gateway' }).click();
    await page.getByLabel('New name for Fake gateway').fill('Team gateway');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const renamed = row(page, 'Team gateway');
    await renamed.waitFor();

    await renamed.getByRole('button', { name: 'Active (Team gateway)' }).click();
    await renamed.getByRole('button', { name: 'Make active (Team gateway)' }).waitFor();
    expect((await accountByLabel('codex', 'Team gateway')).provider).toMatchObject({ activeAccountId: null });

    await renamed.getByRole('button', { name: 'Remove Team gateway' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove Team gateway?' });
    await checkScreen(page, '04-remove-confirm', secrets);
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await renamed.waitFor({ state: 'detached' });
    expect((await accountByLabel('codex', 'Team gateway')).account).toBeUndefined();
  });

  it('signs in to Claude (pasted code), Codex (pasted address) and Grok (device: pending, then approved)', async () => {
    const { page } = admin;
    const oauthSignIn = async (providerName: string, label: string, login: string) => {
      await card(page, providerName)
        .getByRole('button', { name: `Add Account for ${providerName}` })
        .click();
      const dialog = page.getByRole('dialog', { name: `Add Account: ${providerName}` });
      await dialog.getByLabel('Label (optional)').fill(label);
      await dialog.getByRole('button', { name: 'Start Sign-In' }).click();
      const link = dialog.getByRole('link', { name: 'Open the sign-in page' });
      const back = new URL(await oauth.authorize((await link.getAttribute('href')) ?? '', login));
      return { dialog, back };
    };

    const claude = await oauthSignIn('Claude (Anthropic)', 'Claude one', 'carol');
    const code = `${claude.back.searchParams.get('code')}#${claude.back.searchParams.get('state')}`;
    // A code with the wrong state: the API's error is shown, the pasted text stays, the sign-in stays usable.
    const wrong = `${claude.back.searchParams.get('code')}#not-the-state`;
    await claude.dialog.getByLabel('Code (code#state)').fill(wrong);
    await claude.dialog.getByRole('button', { name: 'Complete Sign-In' }).click();
    await claude.dialog.getByRole('alert').waitFor();
    expect(await claude.dialog.getByLabel('Code (code#state)').inputValue()).toBe(wrong);
    await claude.dialog.getByLabel('Code (code#state)').fill(code);
    await checkScreen(page, '05-sign-in-claude-code', secrets);
    secrets.add(code);
    await claude.dialog.getByRole('button', { name: 'Complete Sign-In' }).click();
    await claude.dialog.waitFor({ state: 'detached' });
    await row(page, 'Claude one').waitFor();

    const second = await oauthSignIn('Claude (Anthropic)', 'Claude two', 'dave');
    secrets.add(`${second.back.searchParams.get('code')}#${second.back.searchParams.get('state')}`);
    await second.dialog
      .getByLabel('Code (code#state)')
      .fill(`${second.back.searchParams.get('code')}#${second.back.searchParams.get('state')}`);
    await second.dialog.getByRole('button', { name: 'Complete Sign-In' }).click();
    await row(page, 'Claude two').waitFor();

    const codex = await oauthSignIn('Codex (OpenAI)', 'Codex team', 'erin');
    expect(await codex.dialog.textContent()).toContain('fails to open http://localhost:1455');
    await codex.dialog.getByLabel('Redirected address').fill(codex.back.href);
    await codex.dialog.getByRole('button', { name: 'Complete Sign-In' }).click();
    await row(page, 'Codex team').waitFor();
    secrets.add(codex.back.searchParams.get('code') ?? '');

    await card(page, 'Grok (xAI)').getByRole('button', { name: 'Add Account for Grok (xAI)' }).click();
    const grok = page.getByRole('dialog', { name: 'Add Account: Grok (xAI)' });
    await grok.getByLabel('Label (optional)').fill('Grok device');
    await grok.getByRole('button', { name: 'Start Sign-In' }).click();
    const userCode = (await grok.locator('code.user-code').textContent()) ?? '';
    expect(userCode).toMatch(/\S{4,}/);
    await grok.getByRole('button', { name: "I've signed in" }).click();
    await grok.getByText(`Still waiting: approve code ${userCode}`).waitFor();
    await checkScreen(page, '06-sign-in-grok-pending', secrets);
    const approve = (await grok.getByRole('link').first().getAttribute('href')) ?? '';
    await oauth.approveDevice(approve, 'frank');
    // Keyfleet polls the provider at most every intervalSeconds (5 s); the dialog asks again by itself.
    await grok.waitFor({ state: 'detached', timeout: 15_000 });
    await row(page, 'Grok device').waitFor();

    for (const [provider, label] of [
      ['claude', 'Claude one'],
      ['claude', 'Claude two'],
      ['codex', 'Codex team'],
      ['grok', 'Grok device'],
    ] as const) {
      const { account } = await accountByLabel(provider, label);
      expect(account, label).toBeDefined();
      await rememberVault(provider, account?.id ?? '');
    }
    await checkScreen(page, '07-providers-signed-in', secrets);
  });

  it('turns round robin on for two Claude accounts', async () => {
    const { page } = admin;
    await page.getByRole('switch', { name: 'Round robin (Claude one)' }).check();
    await page.getByText('Claude one joined the round robin.').waitFor();
    await page.getByRole('switch', { name: 'Round robin (Claude two)' }).check();
    await page.getByText('Claude two joined the round robin.').waitFor();
    const one = await accountByLabel('claude', 'Claude one');
    const two = await accountByLabel('claude', 'Claude two');
    expect(two.provider.roundRobinAccountIds).toEqual([one.account?.id, two.account?.id]);
    await expect.poll(() => page.getByRole('switch', { name: 'Round robin (Claude two)' }).isChecked()).toBe(true);
    await checkScreen(page, '08-round-robin', secrets);
    // The first screen only, small enough for the README.
    await page.screenshot({ path: join(SCREENSHOTS, '08-round-robin-top.png') });
  });

  it('shows each OAuth account’s usage windows as labelled meters with percent and reset time, and unknown where none was read', async () => {
    const { page } = admin;
    const resetsAt = { five_hour: '2999-01-01T05:00:00Z', seven_day: '2999-01-06T00:00:00Z' };
    const claudeUsage = (fiveHour: number, sevenDay: number) => ({
      five_hour: { utilization: fiveHour, resets_at: resetsAt.five_hour },
      seven_day: { utilization: sevenDay, resets_at: resetsAt.seven_day },
    });
    const codexWindow = (used: number, seconds: number, at: string) => ({
      used_percent: used,
      limit_window_seconds: seconds,
      reset_at: Date.parse(at) / 1000,
    });
    const percents = { 'Claude one': [97, 40], 'Claude two': [12, 3], 'Codex team': [55.5, 20] } as const;
    const answers: Record<keyof typeof percents, unknown> = {
      'Claude one': claudeUsage(97, 40),
      'Claude two': claudeUsage(12, 3),
      'Codex team': {
        plan_type: 'plus',
        rate_limit: {
          primary_window: codexWindow(55.5, 18_000, resetsAt.five_hour),
          secondary_window: codexWindow(20, 604_800, resetsAt.seven_day),
        },
      },
    };
    for (const [label, answer] of Object.entries(answers)) {
      const provider = label.startsWith('Codex') ? 'codex' : 'claude';
      const { account } = await accountByLabel(provider, label);
      usageProfiles.set(account?.id ?? '', { provider, usage: answer });
    }
    // What the sweep does after its refreshes: read every due account's usage and store it.
    const now = Date.now();
    const accounts = [...(await loadProviderState('claude')).accounts, ...(await loadProviderState('codex')).accounts];
    const tasks = usageReadTasks(usageDue(accounts, now), { now, store: storeUsage });
    await Promise.all(tasks.map((task) => task()));

    await go(page, 'Agent Keepalive');
    await go(page, 'AI Providers');
    for (const [label, [fiveHour, sevenDay]] of Object.entries(percents)) {
      const usageOf = row(page, label).getByRole('region', { name: 'Usage' });
      const fiveHourMeter = usageOf.getByLabel('5-hour window');
      await fiveHourMeter.waitFor();
      expect(await fiveHourMeter.evaluate((m: { tagName: string }) => m.tagName)).toBe('METER');
      expect(await fiveHourMeter.getAttribute('value')).toBe(String(fiveHour));
      expect(await usageOf.getByLabel('7-day window').getAttribute('value')).toBe(String(sevenDay));
      expect(await usageOf.textContent()).toContain(`${fiveHour}% used, resets 2999-01-01 05:00 UTC`);
      expect(await usageOf.textContent()).toContain(`${sevenDay}% used, resets 2999-01-06 00:00 UTC`);
    }
    // Grok has no usage endpoint: its allowance shows as unknown.
    expect(await row(page, 'Grok device').getByRole('region', { name: 'Usage' }).textContent()).toContain(
      'Usage: unknown',
    );
    await checkScreen(page, '08a-usage-windows', secrets);
  });

  it('adds a keyless account for a local model server (LM Studio preset)', async () => {
    const { page } = admin;
    await card(page, 'Codex (OpenAI)').getByRole('button', { name: 'Add Account for Codex (OpenAI)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Account: Codex (OpenAI)' });
    await dialog.getByRole('tab', { name: 'API Key' }).click();
    await dialog.getByLabel('Label', { exact: true }).fill('LM Studio');
    await dialog.getByLabel('No key: a local model server or gateway').check();
    expect(await dialog.getByLabel('API key', { exact: true }).count()).toBe(0);
    expect(await dialog.getByRole('switch', { name: /Custom Endpoint/ }).isChecked()).toBe(true);
    await dialog.getByLabel('Endpoint type').selectOption('responses_local');
    await dialog.getByRole('button', { name: 'Add Account' }).click();
    await dialog.waitFor({ state: 'detached' });
    const lm = row(page, 'LM Studio');
    await expect.poll(() => lm.textContent()).toContain('None (keyless)');
    expect(await lm.textContent()).toContain('responses_local, http://127.0.0.1:1234/v1');
    expect(await lm.getByRole('button', { name: /Replace key/ }).count()).toBe(0);
  });

  it('shows an account that needs reconnecting with its error, and Reconnect signs in again', async () => {
    const { page } = admin;
    oauth.injectTokenFailures({ status: 400, body: { error: 'invalid_grant', error_description: 'revoked' } });
    const codex = row(page, 'Codex team');
    await codex.getByRole('button', { name: 'Test Codex team' }).click();
    await codex.getByText('Test failed').waitFor();
    await codex.getByText('Needs reconnect', { exact: true }).first().waitFor();
    const { account } = await accountByLabel('codex', 'Codex team');
    expect(account).toMatchObject({ status: 'needs_reconnect' });
    expect((await codex.locator('.last-error').textContent()) ?? '').toMatch(/\S/);
    await checkScreen(page, '08b-needs-reconnect', secrets);

    await codex.getByRole('button', { name: 'Reconnect Codex team' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reconnect Codex team' });
    expect(await dialog.getByLabel('Label (optional)').inputValue()).toBe('Codex team');
    await dialog.getByLabel('Label (optional)').fill('Codex team (new)');
    await dialog.getByRole('button', { name: 'Start Sign-In' }).click();
    const href = (await dialog.getByRole('link', { name: 'Open the sign-in page' }).getAttribute('href')) ?? '';
    const back = await oauth.authorize(href, 'erin');
    secrets.add(new URL(back).searchParams.get('code') ?? '');
    await dialog.getByLabel('Redirected address').fill(back);
    await dialog.getByRole('button', { name: 'Complete Sign-In' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Signed in again as Codex team (new).', { exact: false }).waitFor();
    const fresh = await accountByLabel('codex', 'Codex team (new)');
    expect(fresh.account).toMatchObject({ status: 'connected' });
    await rememberVault('codex', fresh.account?.id ?? '');
  });

  it('changes keep-alive settings and shows the validation error for 25 hours without losing the input', async () => {
    const { page } = admin;
    await go(page, 'Agent Keepalive');
    const form = page.locator('form').filter({ has: page.getByRole('heading', { name: 'Codex', exact: true }) });
    await form.getByLabel('Interval (hours, 1–24)').fill('12');
    await form.getByRole('switch', { name: 'Keep Codex tokens fresh' }).uncheck();
    await form.getByRole('button', { name: 'Save Codex' }).click();
    await form.getByText('Saved: Codex keep-alive off.').waitFor();
    const saved = await api.call<{ keepalive: Record<string, { enabled: boolean; intervalHours: number }> }>(
      'GET',
      '/v1/settings',
    );
    expect(saved.body.keepalive.codex).toMatchObject({ enabled: false, intervalHours: 12 });

    await form.getByRole('switch', { name: 'Keep Codex tokens fresh' }).check();
    await form.getByLabel('Interval (hours, 1–24)').fill('25');
    await form.getByRole('button', { name: 'Save Codex' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/intervalHours/);
    expect(await form.getByLabel('Interval (hours, 1–24)').inputValue()).toBe('25');
    const after = await api.call<{ keepalive: Record<string, { enabled: boolean; intervalHours: number }> }>(
      'GET',
      '/v1/settings',
    );
    expect(after.body.keepalive.codex).toMatchObject({ enabled: false, intervalHours: 12 });
    await checkScreen(page, '09-keepalive-validation', secrets);
  });

  it('sets the default agent and a model, and an environment with its own model and effort', async () => {
    const { page } = admin;
    await go(page, 'Models / General');
    await page.getByLabel('Default agent').selectOption('codex');
    await page.getByLabel('Claude model').fill('claude-sonnet-4-5');
    await page.getByRole('button', { name: 'Save models' }).click();
    await page.getByText('Saved.').waitFor();
    const settings = await api.call<{ defaultAgent: string; models: Record<string, string | null> }>(
      'GET',
      '/v1/settings',
    );
    expect(settings.body).toMatchObject({
      defaultAgent: 'codex',
      models: { claude: 'claude-sonnet-4-5', codex: null },
    });
    await checkScreen(page, '10-models', secrets);

    await go(page, 'Environments');
    await page.getByLabel('New environment name').fill('Bad Name!');
    await page.getByRole('button', { name: 'Create environment' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByLabel('New environment name').inputValue()).toBe('Bad Name!');
    await page.getByLabel('New environment name').fill('staging');
    await page.getByRole('button', { name: 'Create environment' }).click();
    const staging = page
      .locator('form.card')
      .filter({ has: page.getByRole('heading', { name: 'staging', exact: true }) });
    await staging.waitFor();
    await staging.getByLabel('Claude model in staging').fill('claude-opus-4-1');
    await staging.getByLabel('Claude effort in staging').fill('high');
    await staging.getByRole('button', { name: 'Save staging' }).click();
    await page.getByText('Saved staging.').waitFor();
    const env = await api.call('GET', '/v1/environments/staging');
    expect(env.body).toEqual({ name: 'staging', providers: { claude: { model: 'claude-opus-4-1', effort: 'high' } } });
    await checkScreen(page, '11-environments', secrets);

    await staging.getByRole('button', { name: 'Delete staging' }).click();
    await page.getByRole('dialog', { name: 'Delete staging?' }).getByRole('button', { name: 'Delete' }).click();
    await staging.waitFor({ state: 'detached' });
    expect((await api.call('GET', '/v1/environments/staging')).status).toBe(404);
  });

  it('keeps finance records: the first account seeded one, and a change is saved', async () => {
    const { page } = admin;
    await go(page, 'Finance');
    const claude = page
      .locator('form.card')
      .filter({ has: page.getByRole('heading', { name: 'Claude', exact: true }) });
    await claude.getByLabel('Cost center').fill('CC-4711');
    await claude.getByLabel('Status').selectOption('complete');
    await claude.getByRole('button', { name: 'Save Claude' }).click();
    await claude.getByText('Saved.').waitFor();
    const records = await api.call<{ records: { provider: string }[] }>('GET', '/v1/finance');
    expect(records.body.records.find((r) => r.provider === 'claude')).toEqual({
      provider: 'claude',
      billing: 'subscription',
      status: 'complete',
      costCenter: 'CC-4711',
    });
    await checkScreen(page, '12-finance', secrets);
  });

  it('shows a member no admin controls, lets them connect their own API-key account and set preferences', async () => {
    const alice = await signInAs(TOKENS.alice);
    const { page } = alice;
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['AI Providers', 'Launches', 'Profile']);
    await row(page, 'Claude one').waitFor();
    for (const name of [/Add Account/, /Make active/, /^Active/, /Rename/, /Remove/, /^Test/, /Replace key/]) {
      expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
    }
    expect(await page.getByRole('switch').count()).toBe(0);
    expect(await page.locator('main').textContent()).toContain('Only admins change them');
    await checkScreen(page, '13-member-providers', secrets);

    await go(page, 'Profile');
    await card(page, 'Gemini (Google)').getByRole('button', { name: 'Add Account for Gemini (Google)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Account: Gemini (Google)' });
    await dialog.getByRole('tab', { name: 'API Key' }).click();
    await dialog.getByLabel('Label', { exact: true }).fill('My Gemini key');
    await dialog.getByLabel('API key', { exact: true }).fill(GEMINI_KEY);
    await dialog.getByRole('button', { name: 'Add Account' }).click();
    await dialog.waitFor({ state: 'detached' });
    const mine = row(page, 'My Gemini key');
    await mine.getByText('…e8d1'.replace('e8d1', GEMINI_KEY.slice(-4))).waitFor();
    expect(await mine.textContent()).toContain("personal accounts never join the team's pool");
    const own = await api.call<{ providers: { id: string; accounts: { label: string; owner: string }[] }[] }>(
      'GET',
      '/v1/me/providers',
      { as: 'alice' },
    );
    expect(own.body.providers.find((p) => p.id === 'gemini')?.accounts).toMatchObject([
      { label: 'My Gemini key', owner: 'alice', kind: 'api_key', active: true },
    ]);

    const claudeTwo = (await accountByLabel('claude', 'Claude two')).account?.id ?? '';
    await page.getByLabel('Preferred Claude account').selectOption(claudeTwo);
    await page.getByLabel('Preferred Claude effort').fill('medium');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Preferences saved.').waitFor();
    const prefs = await api.call('GET', '/v1/me/preferences', { as: 'alice' });
    expect(prefs.body).toEqual({ providers: { claude: { preferredAccountId: claudeTwo, effort: 'medium' } } });
    await checkScreen(page, '14-member-profile', secrets);
    expect(alice.problems).toEqual([]);
    await alice.context.close();
  });

  it('lists launches and the audit log of what was done, filtered and paged', async () => {
    const launched = await api.call<{ launch: { id: string } }>('POST', '/v1/launches', {
      as: 'alice',
      body: { provider: 'claude', maxDurationMinutes: 30, ecs: { command: [process.execPath, '-e', ''] } },
    });
    expect(launched.status).toBe(201);
    // Let the local task finish, so the audit log stops growing while the test pages through it.
    await expect
      .poll(
        async () =>
          (await api.call<{ launch?: { status: string } }>('GET', `/v1/launches/${launched.body.launch.id}`)).body
            .launch?.status,
        { timeout: 20_000, interval: 250 },
      )
      .toMatch(/^(stopped|failed)$/);
    const { page } = admin;
    await go(page, 'Launches');
    const listed = await api.call('GET', '/v1/launches');
    if (listed.status === 404) {
      await page.getByText('This server does not list launches yet.').waitFor();
    } else {
      const launchRow = page.getByRole('row').filter({ hasText: 'Claude two' });
      await launchRow.waitFor();
      expect(await launchRow.textContent()).toContain('alice');
      await launchRow.getByRole('button', { name: `Details of ${launched.body.launch.id}` }).click();
      await page.getByRole('heading', { name: `Launch ${launched.body.launch.id}` }).waitFor();
      await page.getByText('local:task/').first().waitFor();
    }
    await checkScreen(page, '15-launches', secrets);

    await go(page, 'Audit log');
    const table = page.getByRole('table', { name: 'Audit events, newest first' });
    await table.getByRole('cell', { name: 'account.removed' }).first().waitFor();
    await page.getByLabel('Provider').selectOption('grok');
    await expect
      .poll(async () => new Set(await table.locator('tbody tr td:nth-child(4)').allTextContents()))
      .toEqual(new Set(['grok']));
    await page.getByLabel('Provider').selectOption('');
    const audit = await api.call<{ events: unknown[]; next?: string }>('GET', '/v1/audit?limit=25');
    if (audit.body.next) {
      const first = await table.locator('tbody tr').first().textContent();
      await page.getByRole('button', { name: 'Older' }).click();
      await expect.poll(() => table.locator('tbody tr').first().textContent()).not.toBe(first);
      await page.getByRole('button', { name: 'Newer' }).click();
      await expect.poll(() => table.locator('tbody tr').first().textContent()).toBe(first);
    }
    await checkScreen(page, '16-audit', secrets);
  });

  it('works from the keyboard: sign in with Enter, the dialog takes focus, arrows switch tabs, Escape gives focus back', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(api.base);
    await page.getByLabel('Access token').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('token');
    await page.keyboard.type(TOKENS.bob);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Console' }).waitFor();
    await page.getByRole('link', { name: 'Profile' }).focus();
    await page.keyboard.press('Enter');
    const add = page.getByRole('button', { name: 'Add Account for Grok (xAI)' });
    await add.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Add Account: Grok (xAI)' });
    await dialog.waitFor();
    expect(await page.evaluate("document.activeElement.getAttribute('role')")).toBe('tab');
    await page.keyboard.press('ArrowRight');
    expect(await dialog.getByRole('tab', { name: 'API Key' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('API Key');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect
      .poll(() => page.evaluate("document.activeElement.getAttribute('aria-label')"))
      .toBe('Add Account for Grok (xAI)');

    // A session the server no longer knows sends the user back to sign in, with a reason.
    await context.clearCookies();
    await page.getByRole('link', { name: 'Launches' }).click();
    await page.getByText('Your session has ended: sign in again.').waitFor();
    await page.getByLabel('Access token').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  it('signs out: the session ends on the server and the cookie is gone', async () => {
    const { page, context, problems } = admin;
    const [cookie] = await context.cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Access token').waitFor();
    expect(await context.cookies()).toEqual([]);
    const reused = await fetch(`${api.base}/v1/providers`, {
      headers: { cookie: `keyfleet_session=${cookie?.value}`, 'x-keyfleet-console': '1' },
    });
    expect(reused.status).toBe(401);
    await checkScreen(page, '00-sign-in', secrets);
    expect(problems).toEqual([]);
    await context.close();
  });
});

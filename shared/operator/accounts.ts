import type { SignInView } from '#shared/oauth/signin.ts';
import { ApiError, callApi, UsageError } from '#shared/operator/client.ts';
import {
  type Command,
  type Context,
  listProviders,
  output,
  providerAccounts,
  providerArg,
  providerPath,
  requireArg,
  resolveAccount,
  stringOption,
} from '#shared/operator/command.ts';
import { waitForDevice } from '#shared/operator/device.ts';
import { readAllStdin } from '#shared/operator/io.ts';
import { type AccountView, accountSummary, accountsTable, providersTable } from '#shared/operator/views.ts';

const endpointOptions = {
  'base-url': { type: 'string' },
  'endpoint-type': { type: 'string' },
  'api-version': { type: 'string' },
} as const;

function endpointFrom(ctx: Context, required: boolean): Record<string, string> | undefined {
  const baseUrl = stringOption(ctx, 'base-url');
  const type = stringOption(ctx, 'endpoint-type');
  const apiVersion = stringOption(ctx, 'api-version');
  if (!baseUrl && !type && !apiVersion) {
    if (required) throw new UsageError('a keyless account needs --base-url (a local model server or gateway)');
    return undefined;
  }
  return {
    type: type ?? (baseUrl ? 'custom' : 'default'),
    ...(baseUrl ? { baseUrl } : {}),
    ...(apiVersion ? { apiVersion } : {}),
  };
}

function requireLabel(ctx: Context): string {
  const label = stringOption(ctx, 'label');
  if (!label) throw new UsageError('missing --label');
  return label;
}

function printAccount(ctx: Context, account: AccountView): void {
  output(ctx, { account }, () => accountSummary(account));
}

/** The key from a pipe, or typed at a prompt that does not echo; never from the arguments. */
async function readKey(ctx: Context): Promise<string> {
  const key = ctx.io.stdin.isTTY ? await ctx.prompter.askHidden('API key (not shown): ') : await readAllStdin(ctx.io);
  if (!key) throw new UsageError('no API key given on standard input');
  return key;
}

/** The `<provider> <account>` of a command, then a PATCH of that account; prints the result. */
async function changeAccount(
  ctx: Context,
  change: (account: AccountView) => Promise<Record<string, unknown>>,
): Promise<void> {
  const provider = providerArg(ctx) as string;
  const account = await resolveAccount(ctx, provider, requireArg(ctx, 1, 'account'));
  const patch = await change(account);
  const { body } = await callApi<{ account: AccountView }>(
    ctx.client,
    'PATCH',
    `${providerPath(ctx, provider)}/accounts/${account.id}`,
    { body: patch },
  );
  printAccount(ctx, body.account);
}

async function completeSignIn(ctx: Context, signIn: SignInView): Promise<AccountView> {
  const err = ctx.io.stderr;
  if (signIn.flow === 'device') return waitForDevice(ctx, signIn);
  err.write(`${signIn.instructions}\n\n  ${signIn.authorizeUrl ?? ''}\n\n`);
  const question =
    signIn.flow === 'code'
      ? 'Paste the code the page shows (code#state): '
      : 'Paste the address your browser was sent to: ';
  for (let attempt = 1; ; attempt++) {
    const answer = await ctx.prompter.ask(question);
    const body = signIn.flow === 'code' ? { code: answer } : { redirectUrl: answer };
    try {
      const { body: done } = await callApi<{ account: AccountView }>(
        ctx.client,
        'POST',
        `/v1/sign-ins/${encodeURIComponent(signIn.id)}/complete`,
        { body },
      );
      return done.account;
    } catch (error) {
      // A mistyped code leaves the sign-in usable: let the person try again.
      const retry =
        error instanceof ApiError && (error.code === 'sign_in_failed' || error.code === 'validation_failed');
      if (!retry || attempt >= 3 || !ctx.io.stdin.isTTY) throw error;
      err.write(`${error.message}\n`);
    }
  }
}

export const accountCommands: Command[] = [
  {
    name: 'providers',
    args: '',
    summary: 'list the five providers with their accounts, active account, pool and keep-alive',
    read: true,
    personal: true,
    run: async (ctx) => {
      const providers = await listProviders(ctx);
      output(ctx, { providers }, () => providersTable(providers));
    },
  },
  {
    name: 'accounts',
    args: '[provider]',
    summary: 'list accounts (all providers, or one)',
    read: true,
    personal: true,
    run: async (ctx) => {
      const provider = providerArg(ctx, 0, true);
      const accounts = provider
        ? await providerAccounts(ctx, provider)
        : (await listProviders(ctx)).flatMap((p) => p.accounts);
      output(ctx, { accounts }, () => accountsTable(accounts));
    },
  },
  {
    name: 'login',
    args: '<provider> [--label L]',
    summary: 'connect an OAuth account: prints the link, reads the pasted code or address (Grok: device code)',
    personal: true,
    options: { label: { type: 'string' } },
    details:
      'Claude: paste the code#state the page shows. Codex, Gemini, Bob: paste the address the browser\n' +
      'was sent to (the page itself fails to load). Grok: approve the user code at the address shown;\n' +
      'the command waits, polling at the interval the provider asks for, until approved or expired.',
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const label = stringOption(ctx, 'label');
      const { body } = await callApi<{ signIn: SignInView }>(
        ctx.client,
        'POST',
        `${providerPath(ctx, provider)}/sign-ins`,
        {
          body: label ? { label } : {},
        },
      );
      const account = await completeSignIn(ctx, body.signIn);
      printAccount(ctx, account);
    },
  },
  {
    name: 'add-key',
    args: '<provider> --label L [--base-url U] [--endpoint-type T] [--api-version V]',
    summary: 'add an API-key account; the key is read from standard input or a prompt that does not echo',
    personal: true,
    options: { label: { type: 'string' }, ...endpointOptions },
    details:
      'Endpoint types: default, custom; for Codex also responses_hosted, responses_local, azure.\n' +
      'Example: printf %s "$KEY" | keyfleet add-key claude --label "Team API"',
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const label = requireLabel(ctx);
      const endpoint = endpointFrom(ctx, false);
      const apiKey = await readKey(ctx);
      const { body } = await callApi<{ account: AccountView }>(
        ctx.client,
        'POST',
        `${providerPath(ctx, provider)}/accounts`,
        {
          body: { kind: 'api_key', label, apiKey, ...(endpoint ? { endpoint } : {}) },
        },
      );
      printAccount(ctx, body.account);
    },
  },
  {
    name: 'add-keyless',
    args: '<provider> --label L --base-url U [--endpoint-type T] [--api-version V]',
    summary: 'add an account with no credential (a local model server or gateway)',
    personal: true,
    options: { label: { type: 'string' }, ...endpointOptions },
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const { body } = await callApi<{ account: AccountView }>(
        ctx.client,
        'POST',
        `${providerPath(ctx, provider)}/accounts`,
        {
          body: { kind: 'none', label: requireLabel(ctx), endpoint: endpointFrom(ctx, true) },
        },
      );
      printAccount(ctx, body.account);
    },
  },
  {
    name: 'set-key',
    args: '<provider> <account>',
    summary: "replace an API-key account's key in place (read from standard input or a prompt)",
    personal: true,
    run: (ctx) => changeAccount(ctx, async () => ({ apiKey: await readKey(ctx) })),
  },
  {
    name: 'activate',
    args: '<provider> <account|none>',
    summary: 'make an account the active one, or clear the active account with "none"',
    personal: true,
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const ref = requireArg(ctx, 1, 'account|none');
      const accountId = ref === 'none' ? null : (await resolveAccount(ctx, provider, ref)).id;
      const { body } = await callApi<{ provider: { activeAccountId: string | null } }>(
        ctx.client,
        'PUT',
        `${providerPath(ctx, provider)}/active`,
        { body: { accountId } },
      );
      output(ctx, body, () => `${provider}: active account ${body.provider.activeAccountId ?? 'none'}\n`);
    },
  },
  {
    name: 'pool',
    args: '<provider> <account> on|off',
    summary: 'put a team OAuth account in the round-robin pool, or take it out',
    run: (ctx) =>
      changeAccount(ctx, async () => {
        const state = requireArg(ctx, 2, 'on|off');
        if (state !== 'on' && state !== 'off') throw new UsageError('the pool state is "on" or "off"');
        return { roundRobin: state === 'on' };
      }),
  },
  {
    name: 'rename',
    args: '<provider> <account> <new label>',
    summary: 'change an account label',
    personal: true,
    run: (ctx) => changeAccount(ctx, async () => ({ label: requireArg(ctx, 2, 'new label') })),
  },
  {
    name: 'remove',
    args: '<provider> <account> [--yes]',
    summary: 'remove an account and delete its stored credential (asks first unless --yes)',
    personal: true,
    options: { yes: { type: 'boolean', short: 'y' } },
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const account = await resolveAccount(ctx, provider, requireArg(ctx, 1, 'account'));
      if (!ctx.values.yes) {
        const answer = await ctx.prompter.ask(`Remove ${provider} account "${account.label}" (${account.id})? [y/N] `);
        if (!/^y(es)?$/i.test(answer)) throw new UsageError('not removed');
      }
      await callApi(ctx.client, 'DELETE', `${providerPath(ctx, provider)}/accounts/${account.id}`);
      output(ctx, { removed: account.id }, () => `removed ${account.id}\n`);
    },
  },
  {
    name: 'test',
    args: '<provider> <account>',
    summary: 'check that an account works (a token refresh or a small API call)',
    personal: true,
    run: async (ctx) => {
      const provider = providerArg(ctx) as string;
      const account = await resolveAccount(ctx, provider, requireArg(ctx, 1, 'account'));
      const { body } = await callApi<{ ok: boolean; detail: string }>(
        ctx.client,
        'POST',
        `${providerPath(ctx, provider)}/accounts/${account.id}/test`,
      );
      output(ctx, body, () => `${body.ok ? 'ok' : 'failed'}: ${body.detail}\n`);
      return body.ok ? 0 : 1;
    },
  },
];

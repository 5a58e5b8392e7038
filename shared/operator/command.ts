import type { ParseArgsConfig } from 'node:util';
import { type ApiClient, callApi, UsageError } from '#shared/operator/client.ts';
import type { OperatorIo, Prompter } from '#shared/operator/io.ts';
import type { AccountView, ProviderView } from '#shared/operator/views.ts';
import { PROVIDER_IDS } from '#shared/providers/types.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What every command gets: the API client, the terminal, and whether it acts on the caller's own accounts. */
export interface Context {
  client: ApiClient;
  io: OperatorIo;
  prompter: Prompter;
  /** `keyfleet me …`: the caller's personal accounts (`/v1/me/…` routes). */
  personal: boolean;
  json: boolean;
  positionals: string[];
  values: Values;
}

export interface Command {
  name: string;
  /** Arguments after the name, as shown in help. */
  args: string;
  summary: string;
  /** Reads only: `--json` prints the API's own objects. */
  read?: boolean;
  /** Has a personal variant under `keyfleet me`. */
  personal?: boolean;
  options?: Options;
  /** Extra lines for `--help`. */
  details?: string;
  /** Resolves to the exit code when it is a number (0 otherwise). */
  run: (ctx: Context) => Promise<unknown>;
}

/** The providers, in the order the API lists them. */
export const PROVIDERS = PROVIDER_IDS;

/** Writes `data` as JSON with `--json`, else the human form. */
export function output(ctx: Context, data: unknown, human: () => string): void {
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(data, null, 2)}\n` : human());
}

export function providerArg(ctx: Context, index = 0, optional = false): string | undefined {
  const value = ctx.positionals[index];
  if (value === undefined) {
    if (optional) return undefined;
    throw new UsageError(`missing <provider> (one of ${PROVIDERS.join(', ')})`);
  }
  if (!(PROVIDERS as readonly string[]).includes(value))
    throw new UsageError(`unknown provider "${value.slice(0, 30)}" (one of ${PROVIDERS.join(', ')})`);
  return value;
}

export function requireArg(ctx: Context, index: number, name: string): string {
  const value = ctx.positionals[index];
  if (value === undefined || value === '') throw new UsageError(`missing <${name}>`);
  return value;
}

export function stringOption(ctx: Context, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** `/v1/providers/{p}` or `/v1/me/providers/{p}`. */
export function providerPath(ctx: Context, provider: string): string {
  return `${ctx.personal ? '/v1/me' : '/v1'}/providers/${encodeURIComponent(provider)}`;
}

export async function listProviders(ctx: Context): Promise<ProviderView[]> {
  const { body } = await callApi<{ providers: ProviderView[] }>(
    ctx.client,
    'GET',
    `${ctx.personal ? '/v1/me' : '/v1'}/providers`,
  );
  return body.providers;
}

/** The provider's accounts in this context: the team's, or the caller's own. */
export async function providerAccounts(ctx: Context, provider: string): Promise<AccountView[]> {
  if (ctx.personal) return (await listProviders(ctx)).find((p) => p.id === provider)?.accounts ?? [];
  const { body } = await callApi<{ provider: ProviderView }>(ctx.client, 'GET', providerPath(ctx, provider));
  return body.provider.accounts;
}

/**
 * An account named by id (`acc_…`) or by its label (exact, case-insensitive). A label that
 * matches several accounts is a usage error that lists their ids.
 */
export async function resolveAccount(ctx: Context, provider: string, ref: string): Promise<AccountView> {
  const accounts = (await providerAccounts(ctx, provider)).filter((a) =>
    ctx.personal ? a.owner !== null : a.owner === null,
  );
  const byId = accounts.find((a) => a.id === ref);
  if (byId) return byId;
  const byLabel = accounts.filter((a) => a.label.toLowerCase() === ref.toLowerCase());
  if (byLabel.length === 1 && byLabel[0]) return byLabel[0];
  if (byLabel.length > 1)
    throw new UsageError(
      `several ${provider} accounts are labelled "${ref}": use an id (${byLabel.map((a) => a.id).join(', ')})`,
    );
  throw new UsageError(
    `no ${ctx.personal ? 'personal ' : ''}${provider} account with id or label "${ref.slice(0, 60)}"`,
  );
}

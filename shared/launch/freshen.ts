import type { Account } from '#shared/accounts/model.ts';
import { requireAccount } from '#shared/accounts/store.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError } from '#shared/errors.ts';
import type { refreshAccount } from '#shared/oauth/refresh.ts';
import type { RefreshRequest } from '#shared/oauth/refresh-request.ts';
import { refreshThroughFunction } from '#shared/oauth/remote-refresh.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { fromSecretValue, type StoredTokens } from '#shared/vault/tokens.ts';
import { readSecret, SecretNotFoundError, type SecretValue } from '#shared/vault/vault.ts';

/** The refresh routine, when it runs in this process (local mode, tests, the bench). */
let inProcess: typeof refreshAccount | undefined;

/**
 * Has {@link freshen} run `refresher` in this process instead of invoking the refresh function.
 * Local mode and the tests set it; deployed functions never do, which keeps the OAuth client out
 * of the launch and tasks bundles.
 */
export function refreshInProcess(refresher: typeof refreshAccount | undefined): void {
  inProcess = refresher;
}

/**
 * Makes sure the account's access token is valid for `minValidityMs` more (with `force`, refreshes
 * it whatever its expiry). Only the accounts and refresh functions may write secrets, so deployed
 * functions ask the refresh function (named by `KEYFLEET_REFRESH_FUNCTION_NAME`) to do it; local
 * mode and tests run the same routine in process ({@link refreshInProcess}). Returns the account as it is afterwards.
 */
export async function ensureFresh(
  provider: ProviderId,
  accountId: string,
  minValidityMs: number,
  options: { force?: boolean } = {},
): Promise<Account> {
  return freshen(await requireAccount(provider, accountId), minValidityMs, options);
}

/**
 * {@link ensureFresh} for an account the caller has just read: nothing is read again unless a
 * refresh happens.
 */
export async function freshen(
  account: Account,
  minValidityMs: number,
  options: { force?: boolean } = {},
): Promise<Account> {
  if (account.kind !== 'oauth') return account;
  const { provider, id: accountId } = account;
  const force = options.force === true;
  if (!force && account.tokenExpiresAt && Date.parse(account.tokenExpiresAt) - Date.now() > minValidityMs)
    return account;
  const functionName = config().refreshFunctionName;
  if (!functionName) {
    if (!inProcess) throw new Error('KEYFLEET_REFRESH_FUNCTION_NAME is not set and no in-process refresher was given.');
    return (await inProcess({ provider, accountId, minValidityMs, force })).account;
  }
  const request: RefreshRequest = {
    action: 'refresh',
    provider,
    accountId,
    minValidityMs,
    ...(force ? { force } : {}),
  };
  await refreshThroughFunction(functionName, request);
  return requireAccount(provider, accountId);
}

/**
 * The OAuth account's tokens, valid for `minValidityMs` more. The vault's copy is read first and
 * is the answer when it is valid long enough (its expiry is the one the account item mirrors);
 * otherwise the account is read, refreshed ({@link ensureFresh}) and the vault read again.
 */
export async function freshTokens(
  account: Pick<Account, 'provider' | 'id' | 'secretName'>,
  minValidityMs: number,
): Promise<StoredTokens> {
  const stored = fromSecretValue(await storedCredential(account));
  if (stored.expires_at !== null && stored.expires_at - Date.now() > minValidityMs) return stored;
  const fresh = await ensureFresh(account.provider, account.id, minValidityMs);
  return fromSecretValue(await storedCredential(fresh));
}

/**
 * The account's vault value. A secret that is gone (the account was removed meanwhile) makes the
 * account unusable rather than an internal error.
 */
export async function storedCredential(
  account: Pick<Account, 'provider' | 'id' | 'secretName'> & { label?: string },
): Promise<SecretValue> {
  try {
    if (!account.secretName) throw new SecretNotFoundError('no secret');
    return (await readSecret(account.secretName)).value;
  } catch (error) {
    if (error instanceof SecretNotFoundError) {
      throw new AccountUnusableError(
        `The ${account.provider} account ${account.label ? `"${account.label}"` : account.id} has no stored credential; connect it again.`,
      );
    }
    throw error;
  }
}

import { randomBytes, randomUUID } from 'node:crypto';
import { getActiveAccountId, setActiveAccount, setActiveIfNone } from '#shared/accounts/active.ts';
import { type EndpointInput, normalizeEndpoint } from '#shared/accounts/endpoints.ts';
import type { Account, AccountKind, AccountRef } from '#shared/accounts/model.ts';
import { probeAccount, type TestResult } from '#shared/accounts/probe.ts';
import { loadProviderState } from '#shared/accounts/state.ts';
import {
  type AccountChanges,
  deleteAccount,
  getAccount,
  putNewAccount,
  updateAccount,
} from '#shared/accounts/store.ts';
import type { AuditAction } from '#shared/audit/actions.ts';
import { audit } from '#shared/audit/audit.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '#shared/errors.ts';
import { seedFinanceRecord } from '#shared/finance/finance.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { checkEffort } from '#shared/providers/efforts.ts';
import { getProvider } from '#shared/providers/index.ts';
import type { ProviderDefinition, ProviderId } from '#shared/providers/types.ts';
import { createSecret, deleteSecret, readSecret, secretName, writeSecret } from '#shared/vault/vault.ts';

/** Whose accounts an operation acts on: the team's (owner null) or one member's own. */
export interface Scope {
  owner: string | null;
}

/** An operation on one account: which, in whose scope, and who asks (for the audit). */
export interface AccountAction extends AccountRef {
  scope: Scope;
  actor: string;
}

/** `acc_` + 80 random bits. */
export function newAccountId(): string {
  return `acc_${randomBytes(10).toString('hex')}`;
}

/** `…a1b2`: the last four characters, nothing more. */
export function keyHint(apiKey: string): string {
  return `…${apiKey.slice(-4)}`;
}

/** `Claude account 2026-11-22 08:40 UTC`, for sign-ins that reveal no email. */
export function defaultLabel(provider: ProviderDefinition, now = new Date()): string {
  const short = provider.name.replace(/\s*\(.*\)$/, '');
  return `${short} account ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An account of `scope`, or `not_found` (another member's accounts are not revealed). */
export async function accountInScope({ provider, accountId, scope }: AccountRef & { scope: Scope }): Promise<Account> {
  const account = await getAccount(provider, accountId);
  if (!account || account.owner !== scope.owner) {
    // Admin routes on a member's personal account: it exists, but only its owner may change it.
    if (account && scope.owner === null) {
      throw new ForbiddenError('This is a member’s personal account; only its owner can change it.');
    }
    throw new NotFoundError(`No ${provider} account with id "${accountId}".`);
  }
  return account;
}

/** A new account's metadata: fields common to every kind, then the kind's own. */
export function newAccount(
  provider: ProviderDefinition,
  scope: Scope,
  fields: Pick<Account, 'kind' | 'label' | 'email' | 'keyHint' | 'endpoint' | 'tokenExpiresAt' | 'lastRefreshAt'> & {
    secret: boolean;
  },
): Account {
  const id = newAccountId();
  const now = new Date().toISOString();
  const { secret, ...own } = fields;
  return {
    id,
    provider: provider.id,
    owner: scope.owner,
    roundRobin: false,
    status: 'connected',
    effort: null,
    lastError: null,
    cooldownUntil: null,
    secretName: secret ? secretName(provider.id, id) : null,
    createdAt: now,
    updatedAt: now,
    ...own,
  };
}

async function afterAccountAdded(account: Account, hadAccounts: boolean): Promise<boolean> {
  const activated = hadAccounts
    ? false
    : await setActiveIfNone({ provider: account.provider, owner: account.owner, accountId: account.id });
  const billing = account.kind === 'oauth' ? 'subscription' : account.kind === 'api_key' ? 'usage' : 'none';
  await seedFinanceRecord(account.provider, billing);
  return activated;
}

async function hasAccounts(provider: ProviderId, owner: string | null): Promise<boolean> {
  const state = await loadProviderState(provider);
  return state.accounts.some((a) => a.owner === owner);
}

/**
 * Stores a new account: the secret first, then the metadata. If the metadata write fails the
 * secret is removed again, so no orphan credential stays behind.
 */
async function storeNewAccount(account: Account, secret: Record<string, string | number | null> | null): Promise<void> {
  if (secret && account.secretName) {
    await createSecret(account.secretName, secret, {
      tags: { provider: account.provider, account: account.id, ...(account.owner ? { owner: account.owner } : {}) },
    });
  }
  try {
    await putNewAccount(account);
  } catch (error) {
    if (account.secretName) await deleteSecret(account.secretName).catch(() => undefined);
    throw error;
  }
}

/** A new account to store: its metadata, its secret (null for keyless), and its audit event. */
export interface AccountAddition {
  account: Account;
  secret: Record<string, string | number | null> | null;
  actor: string;
  action: AuditAction;
  detail: Record<string, unknown>;
}

/**
 * Stores a new account (secret, then metadata), makes it active if it is the first of its scope,
 * seeds the provider's finance record, and audits it.
 */
export async function addAccount({
  account,
  secret,
  actor,
  action,
  detail,
}: AccountAddition): Promise<{ account: Account; active: boolean }> {
  const hadAccounts = await hasAccounts(account.provider, account.owner);
  await storeNewAccount(account, secret);
  const active = await afterAccountAdded(account, hadAccounts);
  await audit({ actor, action, provider: account.provider, accountId: account.id, detail });
  return { account, active };
}

export interface NewKeyAccount {
  provider: ProviderId;
  scope: Scope;
  kind: Exclude<AccountKind, 'oauth'>;
  label: string;
  apiKey: string | null;
  endpoint: EndpointInput | null | undefined;
  actor: string;
}

export async function createKeyAccount(input: NewKeyAccount): Promise<{ account: Account; active: boolean }> {
  const provider = getProvider(input.provider);
  const endpoint = normalizeEndpoint({ provider, kind: input.kind, input: input.endpoint });
  if (input.kind === 'api_key') registerSecret(input.apiKey);
  const account = newAccount(provider, input.scope, {
    kind: input.kind,
    label: input.label,
    email: null,
    keyHint: input.apiKey ? keyHint(input.apiKey) : null,
    endpoint,
    tokenExpiresAt: null,
    lastRefreshAt: null,
    secret: input.kind === 'api_key',
  });
  return addAccount({
    account,
    secret: input.apiKey ? { api_key: input.apiKey } : null,
    actor: input.actor,
    action: 'account.added',
    detail: { kind: input.kind, owner: account.owner, endpointType: endpoint?.type ?? 'default' },
  });
}

export interface AccountPatch {
  label?: string | undefined;
  roundRobin?: boolean | undefined;
  endpoint?: EndpointInput | null | undefined;
  effort?: string | null | undefined;
  apiKey?: string | undefined;
}

/**
 * The metadata changes `patch` asks for, checked against the account, keeping only what differs
 * from what is stored. Throws `conflict` for a change the account's kind does not allow.
 */
function accountChanges(provider: ProviderDefinition, account: Account, patch: AccountPatch): AccountChanges {
  const changes: AccountChanges = {};
  if (patch.label !== undefined && patch.label !== account.label) changes.label = patch.label;
  if (patch.roundRobin !== undefined) {
    if (patch.roundRobin && account.kind !== 'oauth') {
      throw new ConflictError(
        'Only OAuth accounts can be in the round-robin pool; API-key and keyless accounts cannot.',
      );
    }
    if (patch.roundRobin && account.owner !== null) {
      throw new ConflictError('Personal accounts are never in the round-robin pool.');
    }
    if (patch.roundRobin !== account.roundRobin) changes.roundRobin = patch.roundRobin;
  }
  if (patch.endpoint !== undefined) {
    if (account.kind === 'oauth')
      throw new ConflictError(
        'OAuth accounts use the provider’s own endpoint; only API-key and keyless accounts take a custom endpoint.',
      );
    const endpoint = normalizeEndpoint({ provider, kind: account.kind, input: patch.endpoint });
    if (!sameEndpoint(endpoint, account.endpoint)) changes.endpoint = endpoint;
  }
  if (patch.effort !== undefined) {
    checkEffort({ provider, model: null, effort: patch.effort, path: 'body.effort' });
    if (patch.effort !== account.effort) changes.effort = patch.effort;
  }
  if (patch.apiKey !== undefined && account.kind !== 'api_key') {
    throw new ConflictError(
      account.kind === 'oauth'
        ? 'OAuth accounts have no API key to replace; sign in again instead.'
        : 'Keyless accounts have no API key to replace; add an API-key account instead.',
    );
  }
  return changes;
}

function sameEndpoint(a: Account['endpoint'], b: Account['endpoint']): boolean {
  if (a === null || b === null) return a === b;
  return a.type === b.type && a.baseUrl === b.baseUrl && (a.apiVersion ?? null) === (b.apiVersion ?? null);
}

/**
 * Writes `apiKey` as a new current version of the account's secret, unless it is the key already
 * stored; true when it wrote. Each rotation gets a fresh version id (a rotation back to an earlier
 * key must still become current); the SDK's own retries of this one write reuse it.
 */
async function rotateKey(account: Account, apiKey: string): Promise<boolean> {
  registerSecret(apiKey);
  if (!account.secretName) throw new ConflictError('This account has no stored key to replace.');
  const current = await readSecret(account.secretName);
  if (current.value.api_key === apiKey) return false;
  await writeSecret({
    name: account.secretName,
    value: { ...current.value, api_key: apiKey },
    requestToken: randomUUID(),
  });
  return true;
}

/**
 * Changes an account's label, pool membership, endpoint, effort or API key. Only what actually
 * differs is written and audited: a PATCH that changes nothing writes nothing.
 */
export async function patchAccount({
  provider: providerId,
  accountId,
  scope,
  actor,
  patch,
}: AccountAction & { patch: AccountPatch }): Promise<Account> {
  const provider = getProvider(providerId);
  const account = await accountInScope({ provider: provider.id, accountId, scope });
  const changes = accountChanges(provider, account, patch);
  if (patch.apiKey !== undefined) {
    const rotated = await rotateKey(account, patch.apiKey);
    // The hint is also set when the vault already holds the key: a rotation whose metadata write failed is finished.
    if (rotated || keyHint(patch.apiKey) !== account.keyHint) changes.keyHint = keyHint(patch.apiKey);
  }
  if (Object.keys(changes).length === 0) return account;
  const updated = await updateAccount({ provider: provider.id, accountId, changes });
  for (const [action, detail] of patchEvents(account, updated, changes)) {
    await audit({ actor, action, provider: provider.id, accountId, detail });
  }
  return updated;
}

/** One audit event per kind of change; none for a field that did not change. */
function patchEvents(
  before: Account,
  after: Account,
  changes: AccountChanges,
): [AuditAction, Record<string, unknown>][] {
  const events: [AuditAction, Record<string, unknown>][] = [];
  if (changes.label !== undefined) events.push(['account.renamed', { from: before.label, to: after.label }]);
  if (changes.roundRobin !== undefined) events.push(['account.pool_changed', { roundRobin: after.roundRobin }]);
  if (changes.endpoint !== undefined || changes.effort !== undefined) {
    events.push(['account.updated', { endpointType: after.endpoint?.type ?? 'default', effort: after.effort }]);
  }
  if (changes.keyHint !== undefined) events.push(['account.key_rotated', { from: before.keyHint, to: after.keyHint }]);
  return events;
}

/**
 * Removes an account: the secret first (at once, no recovery window; a missing one counts as
 * gone, so a retried delete finishes), then the metadata, then the active pointer if it named it.
 */
export async function removeAccount({ provider: providerId, accountId, scope, actor }: AccountAction): Promise<void> {
  const account = await accountInScope({ provider: providerId, accountId, scope });
  if (account.secretName) await deleteSecret(account.secretName);
  await deleteAccount(providerId, accountId);
  await setActiveAccount({ provider: providerId, owner: account.owner, accountId: null, onlyIf: accountId });
  await audit({
    actor,
    action: 'account.removed',
    provider: providerId,
    accountId,
    detail: { label: account.label, owner: account.owner },
  });
}

/**
 * Points the scope's active account at `accountId`, or clears it with null. Audited as
 * `account.activated` or `account.deactivated` (naming the account that stopped being active);
 * pointing at the account that is already active, or clearing when none is, changes nothing and
 * records nothing.
 */
export async function activateAccount({
  provider: providerId,
  accountId,
  scope,
  actor,
}: Omit<AccountAction, 'accountId'> & { accountId: string | null }): Promise<void> {
  if (accountId !== null) await accountInScope({ provider: providerId, accountId, scope });
  const previous = await getActiveAccountId({ provider: providerId, owner: scope.owner });
  if (previous === accountId) return;
  await setActiveAccount({ provider: providerId, owner: scope.owner, accountId });
  if (accountId === null) {
    await audit({
      actor,
      action: 'account.deactivated',
      provider: providerId,
      ...(previous ? { accountId: previous } : {}),
      detail: { owner: scope.owner },
    });
    return;
  }
  await audit({
    actor,
    action: 'account.activated',
    provider: providerId,
    accountId,
    detail: { owner: scope.owner, previousAccountId: previous },
  });
}

/**
 * How the Test action checks an OAuth account (a forced refresh, then a usage read). The refresh
 * lives in `shared/oauth`, which builds on this module, so it is handed in where the route tables
 * are composed (`functions/accounts.ts`) instead of imported.
 */
export type OAuthCheck = (account: Account) => Promise<TestResult>;

/**
 * The Test action: OAuth accounts go through `checkOAuth`; API-key accounts make the provider's
 * cheapest authenticated call; keyless ones check reachability. Audited with its outcome.
 */
export async function testAccount({
  provider: providerId,
  accountId,
  scope,
  actor,
  checkOAuth,
}: AccountAction & { checkOAuth: OAuthCheck }): Promise<TestResult> {
  const provider = getProvider(providerId);
  const account = await accountInScope({ provider: provider.id, accountId, scope });
  let result: TestResult;
  if (account.kind === 'oauth') {
    result = await checkOAuth(account);
  } else {
    const apiKey = account.secretName ? String((await readSecret(account.secretName)).value.api_key ?? '') : null;
    result = await probeAccount({ provider, account, apiKey });
  }
  await audit({ actor, action: 'account.tested', provider: provider.id, accountId, detail: { ok: result.ok } });
  return result;
}

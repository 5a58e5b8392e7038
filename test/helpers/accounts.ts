import { randomBytes } from 'node:crypto';
import type { Account } from '#shared/accounts/model.ts';
import { putNewAccount } from '#shared/accounts/store.ts';
import type { ProviderId } from '#shared/providers/types.ts';

let sequence = 0;

/** An account's metadata from `overrides`, with creation times that increase per call. */
export function buildAccount(provider: ProviderId, overrides: Partial<Account> = {}): Account {
  sequence += 1;
  const created = new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString();
  const id = overrides.id ?? `acc_${randomBytes(10).toString('hex')}`;
  const account: Account = {
    id,
    provider,
    kind: 'oauth',
    label: `Account ${sequence}`,
    email: null,
    owner: null,
    roundRobin: false,
    status: 'connected',
    keyHint: null,
    endpoint: null,
    effort: null,
    tokenExpiresAt: null,
    lastRefreshAt: null,
    lastError: null,
    cooldownUntil: null,
    secretName: `keyfleet/test/${provider}/${id}`,
    createdAt: created,
    updatedAt: created,
    ...overrides,
  };
  return account;
}

/** Stores {@link buildAccount}'s account. */
export async function seedAccount(provider: ProviderId, overrides: Partial<Account> = {}): Promise<Account> {
  const account = buildAccount(provider, overrides);
  await putNewAccount(account);
  return account;
}

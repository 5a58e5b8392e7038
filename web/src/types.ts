/**
 * The API's objects as the console sees them (API.md). Account, caller and keep-alive types come
 * from the server's own definitions, so a change there shows up here as a type error. Only
 * `import type` (or values from modules that import nothing at all): the bundle stays
 * browser-only and this type check never reaches Node or AWS SDK code.
 */
import type { AccountEndpoint, AccountView, EndpointType } from '#shared/accounts/model.ts';
import type { AuditAction } from '#shared/audit/actions.ts';
import type { Caller } from '#shared/http/types.ts';
import { PROVIDER_IDS, type ProviderId, type SignInFlow } from '#shared/providers/types.ts';
import type { KeepaliveSettings } from '#shared/settings/provider.ts';

export type { AccountEndpoint, AuditAction, Caller, EndpointType, KeepaliveSettings, ProviderId, SignInFlow };

export const PROVIDERS: readonly ProviderId[] = PROVIDER_IDS;

export type Account = AccountView;

export interface Provider {
  id: ProviderId;
  name: string;
  signIn: SignInFlow;
  activeAccountId: string | null;
  roundRobinAccountIds: string[];
  model: string | null;
  helpers: boolean;
  keepalive: KeepaliveSettings;
  accounts: Account[];
}

export interface SignIn {
  id: string;
  provider: ProviderId;
  flow: SignInFlow;
  expiresAt: string;
  instructions: string;
  authorizeUrl?: string;
  verificationUri?: string;
  verificationUriComplete?: string;
  userCode?: string;
  intervalSeconds?: number;
}

export interface Settings {
  defaultAgent: ProviderId;
  models: Partial<Record<ProviderId, string | null>>;
  keepalive: Partial<Record<ProviderId, KeepaliveSettings>>;
}

export interface Choice {
  preferredAccountId?: string;
  model?: string;
  effort?: string;
}

export interface Preferences {
  providers: Partial<Record<ProviderId, Choice>>;
}

export interface Environment {
  name: string;
  agent?: ProviderId;
  delivery?: 'ticket' | 'proxy';
  providers: Partial<Record<ProviderId, { model?: string; effort?: string }>>;
}

export interface AuditEvent {
  at: string;
  actor: string;
  action: AuditAction;
  provider?: ProviderId;
  accountId?: string;
  detail?: Record<string, unknown>;
}

export interface FinanceRecord {
  provider: ProviderId;
  billing: 'subscription' | 'usage' | 'none';
  status: 'incomplete' | 'complete';
  plan?: string;
  monthlyBudgetUsd?: number;
  costCenter?: string;
  owner?: string;
}

export interface Launch {
  id: string;
  provider: ProviderId;
  accountId: string;
  accountLabel: string;
  callerId: string;
  delivery?: 'ticket' | 'proxy';
  model?: string | null;
  effort?: string | null;
  taskArn: string;
  status: 'starting' | 'running' | 'stopped' | 'failed';
  createdAt: string;
  stoppedAt?: string | null;
  expiresAt: string;
  warnings: string[];
  usage?: { requests: number; inputTokens: number; outputTokens: number; statusCounts: Record<string, number> };
}

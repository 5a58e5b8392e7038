import * as z from 'zod/mini';
import { PROVIDER_IDS } from '#shared/providers/types.ts';

/**
 * The objects the API answers with, as zod schemas: the OpenAPI document is generated from them,
 * and the contract tests check every response the test suites see against them, so the document
 * cannot drift from what the code sends. Strict objects: a field added to a response without being
 * added here fails those tests.
 */

const iso = z.string().check(z.meta({ format: 'date-time' }));
const providerId = z.enum(PROVIDER_IDS);

export const errorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.string(),
      message: z.string(),
      details: z.optional(z.array(z.strictObject({ path: z.string(), message: z.string() }))),
    }),
  })
  .check(z.meta({ id: 'Error' }));

export const usageWindow = z.strictObject({
  name: z.string(),
  usedPercent: z.number(),
  resetsAt: z.nullable(iso),
});

export const account = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    kind: z.enum(['oauth', 'api_key', 'none']),
    label: z.string(),
    email: z.nullable(z.string()),
    owner: z
      .nullable(z.string())
      .check(z.describe('null: a team account; otherwise the caller id of the member who owns it')),
    active: z.boolean(),
    roundRobin: z.boolean(),
    status: z.enum(['connected', 'refresh_failed', 'needs_reconnect', 'cooling_down']),
    keyHint: z.nullable(z.string()),
    endpoint: z.nullable(
      z.strictObject({
        type: z.enum(['default', 'responses_hosted', 'responses_local', 'azure', 'custom']),
        baseUrl: z.string(),
        apiVersion: z.nullable(z.string()),
      }),
    ),
    effort: z.nullable(z.string()),
    tokenExpiresAt: z.nullable(iso),
    lastRefreshAt: z.nullable(iso),
    lastError: z.nullable(z.string()),
    cooldownUntil: z.optional(z.nullable(iso)),
    lastUsedAt: z.optional(z.nullable(iso)),
    usage: z.optional(
      z.nullable(z.strictObject({ plan: z.nullable(z.string()), readAt: iso, windows: z.array(usageWindow) })),
    ),
    createdAt: iso,
    updatedAt: iso,
  })
  .check(z.meta({ id: 'Account' }));

export const keepalive = z.strictObject({
  enabled: z.boolean(),
  intervalHours: z.number().check(z.int(), z.gte(1), z.lte(24)),
  lastRefreshAt: z.nullable(iso),
  nextRefreshAt: z.nullable(iso),
  lastResult: z.nullable(z.enum(['ok', 'failed'])),
});

export const provider = z
  .strictObject({
    id: providerId,
    name: z.string(),
    signIn: z.enum(['code', 'redirect_url', 'device']),
    activeAccountId: z.nullable(z.string()),
    roundRobinAccountIds: z.array(z.string()),
    model: z.nullable(z.string()),
    helpers: z.boolean(),
    keepalive,
    accounts: z.array(account),
  })
  .check(z.meta({ id: 'Provider' }));

export const signIn = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    flow: z.enum(['code', 'redirect_url', 'device']),
    expiresAt: iso,
    instructions: z.string(),
    authorizeUrl: z.optional(z.string()),
    verificationUri: z.optional(z.string()),
    verificationUriComplete: z.optional(z.string()),
    userCode: z.optional(z.string()),
    intervalSeconds: z.optional(z.number()),
  })
  .check(z.meta({ id: 'SignIn' }));

const byProvider = <T extends z.ZodMiniType>(value: T) => z.partialRecord(providerId, value);

export const settings = z
  .strictObject({
    defaultAgent: providerId,
    models: byProvider(z.nullable(z.string())),
    keepalive: byProvider(z.required(z.partial(keepalive), { enabled: true, intervalHours: true })),
    pool: z.optional(byProvider(z.strictObject({ skipAbovePercent: z.number() }))),
  })
  .check(z.meta({ id: 'Settings' }));

export const preferences = z
  .strictObject({
    providers: byProvider(
      z.strictObject({
        preferredAccountId: z.optional(z.string()),
        model: z.optional(z.string()),
        effort: z.optional(z.string()),
      }),
    ),
  })
  .check(z.meta({ id: 'Preferences' }));

export const environment = z
  .strictObject({
    name: z.string(),
    agent: z.optional(providerId),
    delivery: z.optional(z.enum(['ticket', 'proxy'])),
    providers: byProvider(z.strictObject({ model: z.optional(z.string()), effort: z.optional(z.string()) })),
  })
  .check(z.meta({ id: 'Environment' }));

export const launchUsage = z.strictObject({
  requests: z.number().check(z.int()),
  inputTokens: z.number().check(z.int()),
  outputTokens: z.number().check(z.int()),
  statusCounts: z.record(z.string(), z.number().check(z.int())),
});

/** What `POST /v1/launches` answers. */
export const launchCreated = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    accountId: z.string(),
    accountLabel: z.string(),
    taskArn: z.string(),
    expiresAt: iso,
    warnings: z.array(z.string()),
  })
  .check(z.meta({ id: 'LaunchCreated' }));

export const launch = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    accountId: z.string(),
    accountLabel: z.string(),
    callerId: z.string(),
    delivery: z.enum(['ticket', 'proxy']),
    model: z.nullable(z.string()),
    effort: z.nullable(z.string()),
    taskArn: z.nullable(z.string()),
    status: z.enum(['starting', 'running', 'stopped', 'failed']),
    createdAt: iso,
    stoppedAt: z.optional(iso),
    expiresAt: iso,
    warnings: z.array(z.string()),
    usage: z.optional(launchUsage),
  })
  .check(z.meta({ id: 'Launch' }));

export const auditEvent = z
  .strictObject({
    at: iso,
    actor: z.string(),
    action: z.string(),
    provider: z.optional(providerId),
    accountId: z.optional(z.string()),
    detail: z.optional(z.record(z.string(), z.unknown())),
  })
  .check(z.meta({ id: 'AuditEvent' }));

export const financeRecord = z
  .strictObject({
    provider: providerId,
    billing: z.enum(['subscription', 'usage', 'none']),
    status: z.enum(['incomplete', 'complete']),
    plan: z.optional(z.string()),
    monthlyBudgetUsd: z.optional(z.number()),
    costCenter: z.optional(z.string()),
    owner: z.optional(z.string()),
  })
  .check(z.meta({ id: 'FinanceRecord' }));

export const profile = z
  .strictObject({
    provider: providerId,
    taskToken: z.string(),
    expiresAt: iso,
    env: z.record(z.string(), z.string()),
    files: z.array(z.strictObject({ path: z.string(), mode: z.number().check(z.int()), content: z.string() })),
  })
  .check(z.meta({ id: 'Profile', description: 'A CLI profile: what `keyfleet exec` writes into the agent HOME.' }));

export const taskToken = z
  .strictObject({ access_token: z.string(), expires_in: z.number(), issuer: z.optional(z.string()) })
  .check(z.meta({ id: 'TaskAccessToken' }));

export const codexToken = z
  .strictObject({
    access_token: z.string(),
    id_token: z.optional(z.nullable(z.string())),
    refresh_token: z.string(),
    expires_in: z.number(),
    token_type: z.optional(z.string()),
  })
  .check(z.meta({ id: 'CodexTokenResponse' }));

const grantShape = {
  id: z.string(),
  provider: providerId,
  accountId: z.string(),
  accountLabel: z.string(),
  createdAt: iso,
  expiresAt: iso,
  status: z.enum(['active', 'revoked', 'expired']),
};

export const grant = z.strictObject(grantShape).check(
  z.meta({
    id: 'Grant',
    description: 'A personal grant for a workstation (keyfleet sync); never the grant value itself.',
  }),
);

/** The issuing answer: the only one that carries the grant's value. */
// Not z.extend(grant, …): that would carry the Grant id over and describe this one as Grant too.
export const grantIssued = z.strictObject({ grant: z.strictObject({ ...grantShape, token: z.string() }) });

export const workstationProfile = z
  .strictObject({
    provider: providerId,
    grantId: z.string(),
    accountId: z.string(),
    accountLabel: z.string(),
    expiresAt: iso,
    env: z.record(z.string(), z.string()),
    files: z.array(
      z.strictObject({
        path: z.string(),
        mode: z.number().check(z.int()),
        content: z.string(),
        merge: z.optional(z.boolean()),
      }),
    ),
    notes: z.array(z.string()),
  })
  .check(
    z.meta({
      id: 'WorkstationProfile',
      description: 'What keyfleet sync writes on a workstation, and its export lines.',
    }),
  );

/** `{ "error": "…", "error_description": "…" }` — how the Codex token route refuses, as OAuth servers do. */
export const oauthError = z
  .strictObject({ error: z.string(), error_description: z.optional(z.string()) })
  .check(z.meta({ id: 'OAuthError' }));

export const page = <T extends z.ZodMiniType>(name: string, item: T) =>
  z.strictObject({ [name]: z.array(item), next: z.optional(z.string()) });

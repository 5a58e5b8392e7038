import * as z from 'zod';

/**
 * The objects the API answers with, as zod schemas: the OpenAPI document is generated from them,
 * and the contract tests check every response the test suites see against them, so the document
 * cannot drift from what the code sends. Strict objects: a field added to a response without being
 * added here fails those tests.
 */

const iso = z.string().meta({ format: 'date-time' });
const providerId = z.enum(['claude', 'codex', 'gemini', 'bob', 'grok']);

export const errorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.string(),
      message: z.string(),
      details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const usageWindow = z.strictObject({
  name: z.string(),
  usedPercent: z.number(),
  resetsAt: iso.nullable(),
});

export const account = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    kind: z.enum(['oauth', 'api_key', 'none']),
    label: z.string(),
    email: z.string().nullable(),
    owner: z.string().nullable().describe('null: a team account; otherwise the caller id of the member who owns it'),
    active: z.boolean(),
    roundRobin: z.boolean(),
    status: z.enum(['connected', 'refresh_failed', 'needs_reconnect', 'cooling_down']),
    keyHint: z.string().nullable(),
    endpoint: z
      .strictObject({
        type: z.enum(['default', 'responses_hosted', 'responses_local', 'azure', 'custom']),
        baseUrl: z.string(),
        apiVersion: z.string().nullable(),
      })
      .nullable(),
    effort: z.string().nullable(),
    tokenExpiresAt: iso.nullable(),
    lastRefreshAt: iso.nullable(),
    lastError: z.string().nullable(),
    cooldownUntil: iso.nullable().optional(),
    lastUsedAt: iso.nullable().optional(),
    usage: z
      .strictObject({ plan: z.string().nullable(), readAt: iso, windows: z.array(usageWindow) })
      .nullable()
      .optional(),
    createdAt: iso,
    updatedAt: iso,
  })
  .meta({ id: 'Account' });

export const keepalive = z.strictObject({
  enabled: z.boolean(),
  intervalHours: z.number().int().min(1).max(24),
  lastRefreshAt: iso.nullable(),
  nextRefreshAt: iso.nullable(),
  lastResult: z.enum(['ok', 'failed']).nullable(),
});

export const provider = z
  .strictObject({
    id: providerId,
    name: z.string(),
    signIn: z.enum(['code', 'redirect_url', 'device']),
    activeAccountId: z.string().nullable(),
    roundRobinAccountIds: z.array(z.string()),
    model: z.string().nullable(),
    helpers: z.boolean(),
    keepalive,
    accounts: z.array(account),
  })
  .meta({ id: 'Provider' });

export const signIn = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    flow: z.enum(['code', 'redirect_url', 'device']),
    expiresAt: iso,
    instructions: z.string(),
    authorizeUrl: z.string().optional(),
    verificationUri: z.string().optional(),
    verificationUriComplete: z.string().optional(),
    userCode: z.string().optional(),
    intervalSeconds: z.number().optional(),
  })
  .meta({ id: 'SignIn' });

const byProvider = <T extends z.ZodType>(value: T) => z.partialRecord(providerId, value);

export const settings = z
  .strictObject({
    defaultAgent: providerId,
    models: byProvider(z.string().nullable()),
    keepalive: byProvider(keepalive.partial().required({ enabled: true, intervalHours: true })),
    pool: byProvider(z.strictObject({ skipAbovePercent: z.number() })).optional(),
  })
  .meta({ id: 'Settings' });

export const preferences = z
  .strictObject({
    providers: byProvider(
      z.strictObject({
        preferredAccountId: z.string().optional(),
        model: z.string().optional(),
        effort: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'Preferences' });

export const environment = z
  .strictObject({
    name: z.string(),
    agent: providerId.optional(),
    delivery: z.enum(['ticket', 'proxy']).optional(),
    providers: byProvider(z.strictObject({ model: z.string().optional(), effort: z.string().optional() })),
  })
  .meta({ id: 'Environment' });

export const launchUsage = z.strictObject({
  requests: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  statusCounts: z.record(z.string(), z.number().int()),
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
  .meta({ id: 'LaunchCreated' });

export const launch = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    accountId: z.string(),
    accountLabel: z.string(),
    callerId: z.string(),
    delivery: z.enum(['ticket', 'proxy']),
    model: z.string().nullable(),
    effort: z.string().nullable(),
    taskArn: z.string().nullable(),
    status: z.enum(['starting', 'running', 'stopped', 'failed']),
    createdAt: iso,
    stoppedAt: iso.optional(),
    expiresAt: iso,
    warnings: z.array(z.string()),
    usage: launchUsage.optional(),
  })
  .meta({ id: 'Launch' });

export const auditEvent = z
  .strictObject({
    at: iso,
    actor: z.string(),
    action: z.string(),
    provider: providerId.optional(),
    accountId: z.string().optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'AuditEvent' });

export const financeRecord = z
  .strictObject({
    provider: providerId,
    billing: z.enum(['subscription', 'usage', 'none']),
    status: z.enum(['incomplete', 'complete']),
    plan: z.string().optional(),
    monthlyBudgetUsd: z.number().optional(),
    costCenter: z.string().optional(),
    owner: z.string().optional(),
  })
  .meta({ id: 'FinanceRecord' });

export const profile = z
  .strictObject({
    provider: providerId,
    taskToken: z.string(),
    expiresAt: iso,
    env: z.record(z.string(), z.string()),
    files: z.array(z.strictObject({ path: z.string(), mode: z.number().int(), content: z.string() })),
  })
  .meta({ id: 'Profile', description: 'A CLI profile: what `keyfleet exec` writes into the agent HOME.' });

export const taskToken = z
  .strictObject({ access_token: z.string(), expires_in: z.number(), issuer: z.string().optional() })
  .meta({ id: 'TaskAccessToken' });

export const codexToken = z
  .strictObject({
    access_token: z.string(),
    id_token: z.string().nullable().optional(),
    refresh_token: z.string(),
    expires_in: z.number(),
    token_type: z.string().optional(),
  })
  .meta({ id: 'CodexTokenResponse' });

export const grant = z
  .strictObject({
    id: z.string(),
    provider: providerId,
    accountId: z.string(),
    accountLabel: z.string(),
    createdAt: iso,
    expiresAt: iso,
    status: z.enum(['active', 'revoked', 'expired']),
  })
  .meta({
    id: 'Grant',
    description: 'A personal grant for a workstation (keyfleet sync); never the grant value itself.',
  });

/** The issuing answer: the only one that carries the grant's value. */
export const grantIssued = z.strictObject({ grant: grant.extend({ token: z.string() }) });

export const workstationProfile = z
  .strictObject({
    provider: providerId,
    grantId: z.string(),
    accountId: z.string(),
    accountLabel: z.string(),
    expiresAt: iso,
    env: z.record(z.string(), z.string()),
    files: z.array(
      z.strictObject({ path: z.string(), mode: z.number().int(), content: z.string(), merge: z.boolean().optional() }),
    ),
    notes: z.array(z.string()),
  })
  .meta({ id: 'WorkstationProfile', description: 'What keyfleet sync writes on a workstation, and its export lines.' });

/** `{ "error": "…", "error_description": "…" }` — how the Codex token route refuses, as OAuth servers do. */
export const oauthError = z
  .strictObject({ error: z.string(), error_description: z.string().optional() })
  .meta({ id: 'OAuthError' });

export const page = <T extends z.ZodType>(name: string, item: T) =>
  z.strictObject({ [name]: z.array(item), next: z.string().optional() });

import * as z from 'zod/mini';
import type { Account } from '#shared/accounts/model.ts';
import { getAccount, requireAccount } from '#shared/accounts/store.ts';
import { audit, auditEntry } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import {
  AccountUnusableError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  TicketUsedError,
  UpstreamError,
} from '#shared/errors.ts';
import type { ApiRequest, Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import * as wire from '#shared/http/wire.ts';
import { freshen, freshTokens, storedCredential } from '#shared/launch/freshen.ts';
import { authenticateGrant, isGrantToken } from '#shared/launch/grant-tokens.ts';
import { getLaunch, markRedemptionFailed, markRunning } from '#shared/launch/records.ts';
import { CONTAINER_REFRESH_INTERVAL_MS, claimRefreshSlot } from '#shared/launch/refresh-slot.ts';
import { authenticateTaskToken, newTaskToken, taskTokenItem } from '#shared/launch/task-tokens.ts';
import { type AccountHandle, redeemTicket, type TicketFacts } from '#shared/launch/tickets.ts';
import { FINAL_REPORT_GRACE_MS, recordUsage, usageBody } from '#shared/launch/usage.ts';
import { buildProfile } from '#shared/profiles/index.ts';
import type { ProfileInput } from '#shared/profiles/types.ts';
import { workstationProfile } from '#shared/profiles/workstation.ts';
import { getProvider, isProviderId } from '#shared/providers/index.ts';
import type { ProviderId } from '#shared/providers/types.ts';
import { putAll } from '#shared/store/batch.ts';
import { fromSecretValue, type StoredTokens } from '#shared/vault/tokens.ts';

/** Tokens handed to a container are good for at least this long, or refreshed first. */
const CONTAINER_MIN_VALIDITY_MS = 10 * 60 * 1000;
/** A token with less left than this is not handed out: the CLI would be back at once. */
const MIN_SERVABLE_MS = 60 * 1000;

/** The account's token is expired (or refused) and a refresh did not help now; retrying later may. */
class TokenUnavailableError extends UpstreamError {}

const redeemBody = z.strictObject({ ticket: z.string().check(z.maxLength(200)) });

function bearer(request: ApiRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

function secondsUntil(epochMs: number | null): number {
  return epochMs === null ? 3600 : Math.max(0, Math.floor((epochMs - Date.now()) / 1000));
}

/**
 * Spends the ticket ({@link redeemTicket}); a second presentation is audited as `ticket.reused`.
 * Answers what the redemption needs: from the ticket itself, or — for a ticket made before tickets
 * carried it — read from the launch and its account.
 */
async function spendTicket(ticket: string): Promise<{ launch: TicketFacts['launch']; account: AccountHandle }> {
  let redeemed: Awaited<ReturnType<typeof redeemTicket>>;
  try {
    redeemed = await redeemTicket(ticket);
  } catch (error) {
    const reused = (error as { reusedLaunchId?: string }).reusedLaunchId;
    if (error instanceof TicketUsedError && reused) {
      await audit({ actor: 'container', action: 'ticket.reused', detail: { launchId: reused } });
    }
    throw error;
  }
  if (redeemed.facts) return redeemed.facts;
  const launch = await getLaunch(redeemed.launchId);
  const account = launch ? await getAccount(launch.provider, launch.accountId) : undefined;
  if (!launch || !account)
    throw new AccountUnusableError('The account chosen for this launch no longer exists. Launch again.');
  return { launch, account };
}

/** What the task's CLI needs of its account's credential: OAuth tokens, or the API key. */
async function credentialOf(account: AccountHandle): Promise<Pick<ProfileInput, 'tokens' | 'apiKey'>> {
  if (account.kind === 'oauth') {
    return { tokens: await freshTokens(account, CONTAINER_MIN_VALIDITY_MS), apiKey: undefined };
  }
  if (account.kind === 'api_key') {
    return { tokens: undefined, apiKey: String((await storedCredential(account)).api_key ?? '') };
  }
  return { tokens: undefined, apiKey: undefined };
}

/** The fresh account and its credential, or why the task cannot have them. */
async function settle(
  read: PromiseSettledResult<Pick<ProfileInput, 'tokens' | 'apiKey'>>,
  current: PromiseSettledResult<Account | undefined>,
): Promise<{ account: Account; credential: Pick<ProfileInput, 'tokens' | 'apiKey'> }> {
  if (current.status === 'rejected') throw current.reason;
  if (!current.value)
    throw new AccountUnusableError('The account chosen for this launch no longer exists. Launch again.');
  if (read.status === 'rejected') throw read.reason;
  return { account: current.value, credential: read.value };
}

/**
 * POST /v1/tickets/redeem: the container's first and only use of its ticket. Answers the CLI
 * profile (variables and files) and the task token; a second redemption is `ticket_used`, audited,
 * and so is a ticket whose task has already stopped. The hot path is five calls in three round
 * trips: the ticket's single-use write (which answers the launch's facts); the launch's starting →
 * running write beside the vault read and a fresh read of the account (its endpoint and label as
 * they are now, and whether it still exists); one batch with the task token and the audit event.
 */
async function redeem(request: ApiRequest) {
  const { ticket } = parseInput(redeemBody, request.body, 'body');
  const { launch, account: handle } = await spendTicket(ticket);
  const provider = getProvider(launch.provider);
  const { token: taskToken, hash } = newTaskToken();
  // The reads go beside the write that decides; their answers are used only if that write holds.
  const [marked, read, current] = await Promise.allSettled([
    markRunning(launch.id, hash),
    credentialOf(handle),
    getAccount(launch.provider, launch.accountId),
  ]);
  if (marked.status === 'rejected') throw marked.reason;
  const { account, credential } = await settle(read, current).catch(async (error: unknown) => {
    // Marked running but nothing to hand out: the launch must not look like a running task.
    await markRedemptionFailed(launch.id, hash);
    throw error;
  });
  const profile = buildProfile({
    provider,
    account,
    ...credential,
    taskToken,
    apiUrl: config().apiUrl ?? '',
    model: launch.model,
    effort: launch.effort,
    deliverRefreshToken: launch.deliverRefreshToken === true,
    now: Date.now(),
  });
  const event = auditEntry({
    actor: 'container',
    action: 'ticket.redeemed',
    provider: provider.id,
    accountId: account.id,
    detail: { launchId: launch.id, files: profile.files.map((f) => f.path), variables: Object.keys(profile.env) },
  });
  await putAll([taskTokenItem(hash, launch), event.item]);
  event.logged();
  return { status: 200, body: { provider: provider.id, taskToken, expiresAt: launch.expiresAt, ...profile } };
}

const recentlyRefreshed = (account: Account): boolean =>
  account.lastRefreshAt !== null && Date.now() - Date.parse(account.lastRefreshAt) < CONTAINER_REFRESH_INTERVAL_MS;

/** Runs the refresh; a busy lease or a failed refresh function means "not now", not a conflict. */
async function refreshFor(provider: ProviderId, account: Account, force: boolean): Promise<Account> {
  try {
    return await freshen(account, CONTAINER_MIN_VALIDITY_MS, { force });
  } catch (error) {
    if (error instanceof ConflictError || error instanceof UpstreamError) {
      const { name } = getProvider(provider);
      throw new TokenUnavailableError(`The ${name} account's token could not be refreshed now; try again shortly.`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * The tokens of the account just read, as a container may receive them: refreshed first when they
 * would expire within 10 minutes, or — `recover`, the CLI's token was refused upstream — whatever
 * their expiry.
 * Container routes start at most one refresh per account every 30 seconds (and none right after a
 * refresh). Never answers a token that has expired or is about to: that is
 * {@link TokenUnavailableError}; an account that must be signed in again is `account_unusable`, and
 * one without OAuth tokens a `conflict`.
 */
async function servableTokens(read: Account, recover: boolean): Promise<StoredTokens> {
  const { provider, id: accountId } = read;
  const { name } = getProvider(provider);
  let account = read;
  if (account.kind !== 'oauth') {
    const uses = account.kind === 'api_key' ? 'an API key' : 'no credential';
    throw new ConflictError(`This launch's account uses ${uses}; there is no token to fetch.`);
  }
  const expiresAt = account.tokenExpiresAt ? Date.parse(account.tokenExpiresAt) : 0;
  const wanted = recover || expiresAt - Date.now() <= CONTAINER_MIN_VALIDITY_MS;
  let forced = false;
  if (wanted && !recentlyRefreshed(account) && (await claimRefreshSlot(provider, accountId))) {
    account = await refreshFor(provider, account, recover);
    forced = recover;
  }
  if (account.status === 'needs_reconnect') {
    throw new AccountUnusableError(`The ${name} account "${account.label}" needs to be signed in again.`);
  }
  const reason = account.lastError ? ` (${account.lastError.replace(/\.$/, '')})` : '';
  // A successful refresh clears lastError (and may leave a rate-limit cooldown in place).
  if (forced && account.lastError !== null) {
    throw new TokenUnavailableError(`The ${name} account's token was refused and could not be refreshed${reason}.`);
  }
  const tokens = fromSecretValue(await storedCredential(account));
  if (tokens.expires_at !== null && tokens.expires_at - Date.now() < MIN_SERVABLE_MS) {
    throw new TokenUnavailableError(
      `The ${name} account's token has expired and could not be refreshed${reason}; try again shortly.`,
    );
  }
  return tokens;
}

/** A launch's task token, or a person's grant (`keyfleet sync`): both name one provider and account. */
async function authenticateHolder(value: string | undefined): Promise<{ provider: ProviderId; accountId: string }> {
  return isGrantToken(value) ? authenticateGrant(value) : authenticateTaskToken(value);
}

/** `recover=true`: the holder's token was refused upstream (the proxy after a 401). */
function recoverParam(request: ApiRequest): boolean {
  const value = request.query.recover;
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new BadRequestError('recover must be true or false.');
}

/**
 * GET /v1/tasks/token?provider=grok[&recover=true]: the pooled account's current access token, for
 * `keyfleet token` and the proxy. With `recover=true` the token is refreshed whatever its expiry
 * (at most once per account every 30 seconds, shared with every other container route).
 */
async function taskAccessToken(request: ApiRequest) {
  const grant = await authenticateHolder(bearer(request));
  const requested = request.query.provider;
  if (requested !== undefined && !isProviderId(requested)) throw new BadRequestError('Unknown provider.');
  if (requested !== undefined && requested !== grant.provider)
    throw new ForbiddenError('This task token is for another provider.');
  const recover = recoverParam(request);
  const provider = getProvider(grant.provider);
  const tokens = await servableTokens(await requireAccount(provider.id, grant.accountId), recover);
  return {
    status: 200,
    body: {
      access_token: tokens.access_token,
      expires_in: secondsUntil(tokens.expires_at),
      ...(provider.oauth.issuer ? { issuer: provider.oauth.issuer } : {}),
    },
  };
}

const codexRefreshBody = z.object({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().check(z.maxLength(200)),
  client_id: z.optional(z.string().check(z.maxLength(200))),
  refresh_reason: z.optional(z.string().check(z.maxLength(100))),
  scope: z.optional(z.string().check(z.maxLength(1000))),
});

/** An OAuth token endpoint's error answer (RFC 6749 §5.2), which is what Codex expects here. */
function oauthError(status: number, error: string, description: string, headers?: Record<string, string>) {
  return { status, body: { error, error_description: description }, ...(headers ? { headers } : {}) };
}

/**
 * POST /v1/oauth/codex/token: what Codex CLI calls (CODEX_REFRESH_TOKEN_URL_OVERRIDE) when its
 * access token expires (`refresh_reason: proactive_expiry`) or is refused (`unauthorized_recovery`:
 * a real refresh, see {@link servableTokens}). The "refresh token" it holds is the task token; the
 * answer is the pooled account's current tokens, shaped like OpenAI's token endpoint, with the same
 * task token as `refresh_token` so the CLI keeps it. When no valid token can be had it answers as a
 * token endpoint that cannot serve: 503 `temporarily_unavailable`, or 400 `invalid_grant` when the
 * account must be signed in again.
 */
async function codexRefresh(request: ApiRequest) {
  const body = parseInput(codexRefreshBody, request.body, 'body');
  const grant = await authenticateHolder(body.refresh_token);
  if (grant.provider !== 'codex') throw new ForbiddenError('This task token is not for a Codex launch.');
  let tokens: StoredTokens;
  try {
    const account = await requireAccount('codex', grant.accountId);
    tokens = await servableTokens(account, body.refresh_reason === 'unauthorized_recovery');
  } catch (error) {
    if (error instanceof TokenUnavailableError) {
      const retryAfter = String(CONTAINER_REFRESH_INTERVAL_MS / 1000);
      return oauthError(503, 'temporarily_unavailable', error.message, { 'retry-after': retryAfter });
    }
    if (error instanceof AccountUnusableError || error instanceof ConflictError) {
      return oauthError(400, 'invalid_grant', error.message);
    }
    throw error;
  }
  return {
    status: 200,
    body: {
      access_token: tokens.access_token,
      id_token: tokens.id_token,
      refresh_token: body.refresh_token,
      token_type: 'Bearer',
      expires_in: secondsUntil(tokens.expires_at),
    },
  };
}

/**
 * POST /v1/tasks/usage: a proxy-delivery launch's proxy reports its totals (see `usage.ts`). Its
 * task token is accepted for a few minutes after the task stopped, for the final report. A
 * ticket-delivery launch has no proxy: its agent holds the task token and may not report limits
 * that would take accounts out of the pool.
 */
async function taskUsage(request: ApiRequest) {
  const grant = await authenticateTaskToken(bearer(request), Date.now(), { graceMs: FINAL_REPORT_GRACE_MS });
  const report = parseInput(usageBody, request.body, 'body');
  if (grant.delivery !== 'proxy') {
    throw new ConflictError('Only a proxy-delivery launch reports usage; this launch uses ticket delivery.');
  }
  await recordUsage(grant, report);
  return { status: 204 };
}

/**
 * GET /v1/grants/profile with `Authorization: Bearer <grant>`: what `keyfleet sync` writes on the
 * workstation (see `profiles/workstation.ts`). Served here because this function reads the vault;
 * the grant itself is issued by `POST /v1/me/grants`, which does not.
 */
async function grantProfile(request: ApiRequest) {
  const grant = await authenticateGrant(bearer(request));
  const provider = getProvider(grant.provider);
  const account = await getAccount(grant.provider, grant.accountId);
  if (!account) throw new AccountUnusableError('The account of this grant no longer exists. Run keyfleet sync again.');
  const tokens = account.kind === 'oauth' ? await servableTokens(account, false) : undefined;
  const apiKey = account.kind === 'api_key' ? String((await storedCredential(account)).api_key ?? '') : undefined;
  const profile = workstationProfile({
    provider,
    account,
    tokens,
    apiKey,
    grant: bearer(request) ?? '',
    apiUrl: config().apiUrl ?? '',
    now: Date.now(),
  });
  const body = {
    provider: provider.id,
    grantId: grant.grantId,
    accountId: account.id,
    accountLabel: account.label,
    expiresAt: grant.expiresAt,
    ...profile,
  };
  return { status: 200, body };
}

/** Routes served by `functions/tasks.ts`; each authenticates with its ticket, task token or grant. */
export const containerRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/tickets/redeem',
    access: 'container',
    contract: {
      summary: "Redeem a launch's single-use ticket for its CLI profile and task token",
      tag: 'container',
      body: redeemBody,
      responses: { 200: { description: 'The CLI profile and task token', schema: wire.profile } },
      errors: [409, 410, 502],
    },
    handler: redeem,
  },
  {
    method: 'GET',
    path: '/v1/tasks/token',
    access: 'container',
    contract: {
      summary: "The launch's (or grant's) account's current access token; recover=true refreshes it first",
      tag: 'container',
      responses: { 200: { description: 'The access token', schema: wire.taskToken } },
      errors: [403, 409, 502],
    },
    handler: taskAccessToken,
  },
  {
    method: 'POST',
    path: '/v1/tasks/usage',
    access: 'container',
    contract: {
      summary: "A proxy-delivery launch's usage since its proxy started, and the latest rate limit it saw",
      tag: 'container',
      body: usageBody,
      responses: { 204: { description: 'Recorded (or ignored: an older report than the one stored)' } },
      errors: [409],
    },
    handler: taskUsage,
  },
  {
    method: 'POST',
    path: '/v1/oauth/codex/token',
    access: 'container',
    body: 'json_or_form',
    contract: {
      summary:
        "Codex CLI's refresh URL: the task token (or grant) as refresh_token; answers like OpenAI's token endpoint",
      tag: 'container',
      body: codexRefreshBody,
      responses: {
        200: {
          description: "The account's current tokens; refresh_token is the same task token",
          schema: wire.codexToken,
        },
        400: { description: 'invalid_grant: the account must be signed in again', schema: wire.oauthError },
        503: {
          description: 'temporarily_unavailable (with Retry-After): no valid token can be had now',
          schema: wire.oauthError,
        },
      },
      errors: [403],
    },
    handler: codexRefresh,
  },
  {
    method: 'GET',
    path: '/v1/grants/profile',
    access: 'container',
    contract: {
      summary: "What keyfleet sync writes: the grant's workstation profile (Authorization: Bearer <grant>)",
      tag: 'grants',
      responses: { 200: { description: 'The workstation profile', schema: wire.workstationProfile } },
      errors: [409, 502],
    },
    handler: grantProfile,
  },
];

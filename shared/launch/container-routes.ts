import { z } from 'zod';
import { getAccount } from '#shared/accounts/store.ts';
import { audit } from '#shared/audit/audit.ts';
import { config } from '#shared/config.ts';
import { AccountUnusableError, BadRequestError, ForbiddenError, TicketUsedError } from '#shared/errors.ts';
import type { ApiRequest, Route } from '#shared/http/types.ts';
import { parseInput } from '#shared/http/validate.ts';
import { currentTokens, storedCredential } from '#shared/launch/freshen.ts';
import { buildProfile } from '#shared/launch/profiles/index.ts';
import { authenticateTaskToken, getLaunch, issueTaskToken, redeemTicket } from '#shared/launch/records.ts';
import { getProvider, isProviderId } from '#shared/providers/index.ts';

/** Tokens handed to a container are good for at least this long. */
const CONTAINER_MIN_VALIDITY_MS = 10 * 60 * 1000;

const redeemBody = z.strictObject({ ticket: z.string().max(200) });

function bearer(request: ApiRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

function secondsUntil(epochMs: number | null): number {
  return epochMs === null ? 3600 : Math.max(0, Math.floor((epochMs - Date.now()) / 1000));
}

/**
 * POST /v1/tickets/redeem: the container's first and only use of its ticket. Answers the CLI
 * profile (variables and files) and the task token; a second redemption is `ticket_used`, audited.
 */
async function redeem(request: ApiRequest) {
  const { ticket } = parseInput(redeemBody, request.body, 'body');
  let launchId: string;
  try {
    launchId = await redeemTicket(ticket);
  } catch (error) {
    const reused = (error as { reusedLaunchId?: string }).reusedLaunchId;
    if (error instanceof TicketUsedError && reused) {
      await audit({ actor: 'container', action: 'ticket.reused', detail: { launchId: reused } });
    }
    throw error;
  }
  const launch = await getLaunch(launchId);
  const account = launch ? await getAccount(launch.provider, launch.accountId) : undefined;
  if (!launch || !account)
    throw new AccountUnusableError('The account chosen for this launch no longer exists. Launch again.');
  const provider = getProvider(launch.provider);
  const tokens =
    account.kind === 'oauth' ? await currentTokens(provider.id, account.id, CONTAINER_MIN_VALIDITY_MS) : undefined;
  const apiKey = account.kind === 'api_key' ? String((await storedCredential(account)).api_key ?? '') : undefined;
  const taskToken = await issueTaskToken(launch);
  const profile = buildProfile({
    provider,
    account,
    tokens,
    apiKey,
    taskToken,
    apiUrl: config().apiUrl ?? '',
    model: launch.model,
    effort: launch.effort,
    deliverRefreshToken: launch.deliverRefreshToken === true,
    now: Date.now(),
  });
  await audit({
    actor: 'container',
    action: 'ticket.redeemed',
    provider: provider.id,
    accountId: account.id,
    detail: { launchId, files: profile.files.map((f) => f.path), variables: Object.keys(profile.env) },
  });
  return { status: 200, body: { provider: provider.id, taskToken, expiresAt: launch.expiresAt, ...profile } };
}

/** GET /v1/tasks/token?provider=grok: the pooled account's current access token, for `keyfleet token`. */
async function taskAccessToken(request: ApiRequest) {
  const grant = await authenticateTaskToken(bearer(request));
  const requested = request.query.provider;
  if (requested !== undefined && !isProviderId(requested)) throw new BadRequestError('Unknown provider.');
  if (requested !== undefined && requested !== grant.provider)
    throw new ForbiddenError('This task token is for another provider.');
  const provider = getProvider(grant.provider);
  const tokens = await currentTokens(provider.id, grant.accountId, CONTAINER_MIN_VALIDITY_MS);
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
  refresh_token: z.string().max(200),
  client_id: z.string().max(200).optional(),
  refresh_reason: z.string().max(100).optional(),
  scope: z.string().max(1000).optional(),
});

/**
 * POST /v1/oauth/codex/token: what Codex CLI calls (CODEX_REFRESH_TOKEN_URL_OVERRIDE) when its
 * access token expires or is refused. The "refresh token" it holds is the task token; the answer is
 * the pooled account's current tokens, shaped like OpenAI's token endpoint, with the same task token
 * as `refresh_token` so the CLI keeps it.
 */
async function codexRefresh(request: ApiRequest) {
  const body = parseInput(codexRefreshBody, request.body, 'body');
  const grant = await authenticateTaskToken(body.refresh_token);
  if (grant.provider !== 'codex') throw new ForbiddenError('This task token is not for a Codex launch.');
  const tokens = await currentTokens('codex', grant.accountId, CONTAINER_MIN_VALIDITY_MS);
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

/** Routes served by `functions/tasks.ts`; each authenticates with its ticket or task token. */
export const containerRoutes: Route[] = [
  { method: 'POST', path: '/v1/tickets/redeem', access: 'container', handler: redeem },
  { method: 'GET', path: '/v1/tasks/token', access: 'container', handler: taskAccessToken },
  { method: 'POST', path: '/v1/oauth/codex/token', access: 'container', body: 'json_or_form', handler: codexRefresh },
];

import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config.ts';
import { ConflictError, NotFoundError, SignInExpiredError } from '#shared/errors.ts';
import type { ProviderId, SignInFlow } from '#shared/providers/types.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { signInKey } from '#shared/store/keys.ts';
import { buildUpdate, itemExists } from '#shared/store/update.ts';

/** A sign-in lives 15 minutes; DynamoDB's TTL removes it later, every read checks `expiresAt`. */
export const SIGN_IN_TTL_MS = 15 * 60 * 1000;
/** A completion holds the session this long at most, so a crashed one does not block a retry. */
const CLAIM_MS = 60 * 1000;

export interface SignInSession {
  id: string;
  provider: ProviderId;
  flow: SignInFlow;
  /** The caller who started it; only they may complete or cancel it. */
  owner: string;
  /** A member's own (personal) account rather than a team account. */
  personal: boolean;
  label: string | null;
  state: string | null;
  redirectUri: string | null;
  /** PKCE verifier, nonce and device code, sealed (`shared/vault/seal.ts`); never in clear. */
  sealed: string;
  intervalSeconds: number | null;
  lastPollAt: string | null;
  expiresAt: string;
  createdAt: string;
}

/** 256 random bits: the id is the handle to a half-finished sign-in. */
export function newSignInId(): string {
  return `si_${randomBytes(32).toString('base64url')}`;
}

const table = (): string => config().tableName;

export async function putSession(session: SignInSession): Promise<void> {
  await dynamo(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...signInKey(session.id),
          type: 'sign-in',
          ...session,
          ttl: Math.ceil(Date.parse(session.expiresAt) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    ),
  );
}

/**
 * The caller's live session: `not_found` when it does not exist or belongs to someone else
 * (their sign-ins are not revealed), `sign_in_expired` after 15 minutes whatever TTL has done.
 */
export async function getOwnSession(request: { id: string; callerId: string; now?: number }): Promise<SignInSession> {
  const { id, callerId, now = Date.now() } = request;
  const out = await dynamo(() =>
    documentClient().send(new GetCommand({ TableName: table(), Key: signInKey(id), ConsistentRead: true })),
  );
  const item = out.Item as (SignInSession & { claimedUntil?: number }) | undefined;
  if (!item || item.owner !== callerId) throw new NotFoundError('No such sign-in.');
  if (Date.parse(item.expiresAt) <= now) {
    throw new SignInExpiredError('This sign-in has expired (15 minutes). Start a new one.');
  }
  return item;
}

/**
 * Takes the session for one completion attempt. A second concurrent completion gets `conflict`;
 * the claim lapses by itself after a minute if its holder dies.
 */
export async function claimSession(id: string, now = Date.now()): Promise<void> {
  const parts = buildUpdate(
    { claimedUntil: now + CLAIM_MS },
    {
      conditions: [
        itemExists,
        {
          expression: 'attribute_not_exists(#c) OR #c < :now',
          names: { '#c': 'claimedUntil' },
          values: { ':now': now },
        },
      ],
    },
  );
  const claimed = await conditional(() =>
    documentClient().send(new UpdateCommand({ TableName: table(), Key: signInKey(id), ...parts })),
  );
  if (!claimed) {
    throw new ConflictError(
      'This sign-in is already being completed, or was completed. Wait a moment and check the accounts.',
    );
  }
}

/** Gives the session back after an attempt that changed nothing (pending device flow, refused code). */
export async function releaseSession(
  id: string,
  changes: { intervalSeconds?: number; lastPollAt?: string } = {},
): Promise<void> {
  const parts = buildUpdate(changes, { remove: ['claimedUntil'], conditions: [itemExists] });
  await conditional(() =>
    documentClient().send(new UpdateCommand({ TableName: table(), Key: signInKey(id), ...parts })),
  );
}

/** Removes the session; returns whether it was there. */
export async function deleteSession(id: string): Promise<boolean> {
  const out = await dynamo(() =>
    documentClient().send(new DeleteCommand({ TableName: table(), Key: signInKey(id), ReturnValues: 'ALL_OLD' })),
  );
  return out.Attributes !== undefined;
}

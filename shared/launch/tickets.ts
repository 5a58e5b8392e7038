import { randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '#shared/accounts/model.ts';
import { config } from '#shared/config.ts';
import { ConditionFailedError, TicketUsedError } from '#shared/errors.ts';
import { hashOf, ttlOf } from '#shared/launch/hash.ts';
import type { LaunchRecord } from '#shared/launch/records.ts';
import { logger } from '#shared/log/logger.ts';
import { registerSecret } from '#shared/log/redact.ts';
import { conditional, documentClient, dynamo } from '#shared/store/dynamo.ts';
import { ticketKey } from '#shared/store/keys.ts';

/**
 * A launch's single-use ticket, `TICKET#<sha256>` / `TICKET`: what its task presents once to get
 * its credentials. Stored only as the hash of its value, with the facts its redemption needs.
 */

/** A ticket is good for 15 minutes and one redemption. */
export const TICKET_TTL_MS = 15 * 60 * 1000;

const table = (): string => config().tableName;

/** What redeeming a ticket needs, stored with the ticket so that redemption reads nothing else. */
export interface TicketFacts {
  launch: Pick<
    LaunchRecord,
    'id' | 'provider' | 'accountId' | 'model' | 'effort' | 'deliverRefreshToken' | 'expiresAt'
  >;
  /**
   * Where the launch's account keeps its credential: what never changes for an account, so the
   * vault can be read beside the fresh account read. Label, endpoint and status are read fresh at
   * redemption (an endpoint changed since the launch must not receive a rotated key).
   */
  account: AccountHandle;
}

/** The parts of an account that never change: enough to read its credential. */
export type AccountHandle = Pick<Account, 'provider' | 'id' | 'kind' | 'secretName'>;

function ticketFacts(launch: LaunchRecord, account: Account): TicketFacts {
  const { id, provider, accountId, model, effort, deliverRefreshToken, expiresAt } = launch;
  return {
    launch: { id, provider, accountId, model, effort, deliverRefreshToken, expiresAt },
    account: { provider: account.provider, id: account.id, kind: account.kind, secretName: account.secretName },
  };
}

/** A new ticket value (256 random bits), registered for redaction. */
export function newTicket(): string {
  const ticket = `kfk_${randomBytes(32).toString('base64url')}`;
  registerSecret(ticket);
  return ticket;
}

/**
 * The launch's ticket item: only the hash of its value, good for {@link TICKET_TTL_MS} from the
 * launch's creation, with the facts its redemption needs.
 */
export function ticketItem(launch: LaunchRecord, ticket: string, account: Account): Record<string, unknown> {
  const expiresAt = new Date(Date.parse(launch.createdAt) + TICKET_TTL_MS).toISOString();
  return {
    ...ticketKey(hashOf(ticket)),
    type: 'ticket',
    launchId: launch.id,
    expiresAt,
    ttl: ttlOf(expiresAt),
    facts: ticketFacts(launch, account),
  };
}

/** A redeemed ticket: its launch, and the facts stored with it (absent on tickets made before they were). */
export interface RedeemedTicket {
  launchId: string;
  facts: TicketFacts | undefined;
}

/**
 * Redeems a ticket once: a conditional write marks it used only if it exists, is unused, was not
 * spent by its task stopping, and has not expired (checked against `expiresAt`, whatever TTL has
 * done), and answers the ticket as stored. A second redemption is logged as a `ticket_reuse` event
 * — a sign that the ticket leaked — and answered like an unknown ticket; so is a spent ticket,
 * without the reuse alarm.
 */
export async function redeemTicket(ticket: string, now = Date.now()): Promise<RedeemedTicket> {
  const key = ticketKey(hashOf(ticket));
  try {
    const out = await dynamo(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: key,
          UpdateExpression: 'SET usedAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :iso',
          ExpressionAttributeValues: { ':now': new Date(now).toISOString(), ':iso': new Date(now).toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const facts = out.Attributes?.facts as TicketFacts | undefined;
    return { launchId: String(out.Attributes?.launchId), facts };
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const existing = await dynamo(() =>
      documentClient().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true })),
    );
    const reused = existing.Item?.usedAt !== undefined;
    if (reused) {
      logger.warn('ticket_reuse', { ticketReuse: 1, launchId: existing.Item?.launchId });
    }
    const failure = new TicketUsedError('This ticket was already used or has expired. Launch the task again.');
    (failure as TicketUsedError & { reusedLaunchId?: string }).reusedLaunchId = reused
      ? String(existing.Item?.launchId)
      : undefined;
    throw failure;
  }
}

/** Spends a ticket (by its hash) that was never redeemed, so it cannot be redeemed later. */
export async function spendUnusedTicket(hash: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: ticketKey(hash),
        UpdateExpression: 'SET revokedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
}

import { markStopped } from '#shared/launch/records.ts';
import { revokeTaskToken } from '#shared/launch/task-tokens.ts';
import { spendUnusedTicket } from '#shared/launch/tickets.ts';

// Stopping touches three item kinds on purpose: the launch record, its ticket and its task token.

export interface StopOutcome {
  /** The launch's task token was revoked now. */
  tokenRevoked: boolean;
  /** The launch's ticket had not been redeemed and is spent now. */
  ticketSpent: boolean;
}

/**
 * Marks the launch stopped (its task ended), then spends its ticket and revokes its task token.
 * The status is written first and read back in the same request, so a redemption racing with the
 * stop either sees `stopped` or has already recorded the token hash that is revoked here. (Its
 * token item may land just after this revocation found none: it is refused all the same, since
 * `authenticateTaskToken` checks the launch.) Undefined when there is no such launch.
 */
export async function stopLaunch(launchId: string, now = Date.now()): Promise<StopOutcome | undefined> {
  const launch = await markStopped(launchId, now);
  if (!launch) return undefined;
  const ticketSpent = launch.ticketHash ? await spendUnusedTicket(launch.ticketHash) : false;
  const tokenRevoked = launch.taskTokenHash ? await revokeTaskToken(launch.taskTokenHash) : false;
  return { tokenRevoked, ticketSpent };
}

/** Stops the launch (see {@link stopLaunch}). Returns whether a task token was revoked. */
export async function revokeLaunch(launchId: string): Promise<boolean> {
  return (await stopLaunch(launchId))?.tokenRevoked ?? false;
}

import type { EventBridgeEvent } from 'aws-lambda';
import { audit } from '#shared/audit/audit.ts';
import { stopLaunch } from '#shared/launch/stop.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

type TaskStateChange = EventBridgeEvent<
  'ECS Task State Change',
  { lastStatus?: string; startedBy?: string; taskArn?: string }
>;

/**
 * ECS Task State Change (STOPPED) for a Keyfleet launch: the launch is stopped, its ticket spent if
 * it was never redeemed, and its task token revoked.
 */
export const handler = async (event: TaskStateChange): Promise<{ revoked: boolean }> => {
  const { lastStatus, startedBy, taskArn } = event.detail ?? {};
  if (lastStatus !== 'STOPPED' || !startedBy || !/^lch_[a-f0-9]{20}$/.test(startedBy)) return { revoked: false };
  const outcome = await stopLaunch(startedBy);
  const revoked = outcome?.tokenRevoked ?? false;
  await audit({
    actor: 'ecs',
    action: 'launch.stopped',
    detail: { launchId: startedBy, taskArn, tokenRevoked: revoked, ticketSpent: outcome?.ticketSpent ?? false },
  });
  return { revoked };
};

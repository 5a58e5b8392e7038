import type { EventBridgeEvent } from 'aws-lambda';
import { audit } from '#shared/audit/audit.ts';
import { revokeLaunch } from '#shared/launch/records.ts';
import { checkStartup } from '#shared/startup.ts';

checkStartup({ lambdaInit: true });

type TaskStateChange = EventBridgeEvent<
  'ECS Task State Change',
  { lastStatus?: string; startedBy?: string; taskArn?: string }
>;

/** ECS Task State Change (STOPPED) for a Keyfleet launch: revoke the launch's task token. */
export const handler = async (event: TaskStateChange): Promise<{ revoked: boolean }> => {
  const { lastStatus, startedBy, taskArn } = event.detail ?? {};
  if (lastStatus !== 'STOPPED' || !startedBy || !/^lch_[a-f0-9]{20}$/.test(startedBy)) return { revoked: false };
  const revoked = await revokeLaunch(startedBy);
  await audit({
    actor: 'ecs',
    action: 'launch.stopped',
    detail: { launchId: startedBy, taskArn, tokenRevoked: revoked },
  });
  return { revoked };
};

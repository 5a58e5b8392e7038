import { UpstreamError } from '#shared/errors.ts';
import type { RunRequest } from '#shared/launch/runner.ts';
import { logger } from '#shared/log/logger.ts';
import { type ProxyProcess, startProxyProcess } from '#shared/proxy/agent.ts';

/** How a local task receives its credentials: what its agent process gets, and what to stop after it. */
export interface LocalDelivery {
  /** Keyfleet's variables for the agent's process (beside PATH, HOME, TMPDIR and the caller's own). */
  env: Record<string, string>;
  /** Once the agent has exited: stops the proxy, which sends its last usage report first. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Local mode's counterpart of the RunTask overrides. Ticket delivery: the agent's `keyfleet exec`
 * gets the ticket and Keyfleet's URL. Proxy delivery: `keyfleet` (`command`, e.g. `[node,
 * keyfleet.mjs]`) runs `proxy --port 0` as its own process with only PATH, the URL and the
 * ticket, and the agent gets nothing but `KEYFLEET_PROXY_URL`. A proxy that does not start (its
 * redemption refused, say) fails the launch as an `upstream_error`.
 */
export async function localDelivery(
  request: Pick<RunRequest, 'delivery' | 'ticket' | 'apiUrl' | 'launchId'>,
  command: string[],
): Promise<LocalDelivery> {
  if (request.delivery !== 'proxy') {
    return { env: { KEYFLEET_TICKET: request.ticket, KEYFLEET_URL: request.apiUrl }, stop: async () => undefined };
  }
  let proxy: ProxyProcess;
  try {
    proxy = await startProxyProcess([...command, 'proxy', '--port', '0'], {
      PATH: process.env.PATH,
      KEYFLEET_URL: request.apiUrl,
      KEYFLEET_TICKET: request.ticket,
    });
  } catch (error) {
    logger.warn('local proxy did not start', { launchId: request.launchId, error });
    throw new UpstreamError('The task’s keyfleet proxy did not start; see the local mode output.', { cause: error });
  }
  let stopping: Promise<void> | undefined;
  return {
    env: { KEYFLEET_PROXY_URL: proxy.url },
    stop: () => {
      stopping ??= proxy.stop().then(() => undefined);
      return stopping;
    },
  };
}

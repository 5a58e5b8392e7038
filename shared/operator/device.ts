import { ApiError, callApi } from '#shared/operator/client.ts';
import type { Context } from '#shared/operator/command.ts';
import type { AccountView } from '#shared/operator/views.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface DeviceSignIn {
  id: string;
  expiresAt: string;
  verificationUri?: string;
  verificationUriComplete?: string;
  userCode?: string;
  intervalSeconds?: number;
}

/**
 * The device flow (Grok): shows the address and user code, then asks Keyfleet to complete the
 * sign-in at the interval the provider set (Keyfleet answers 202 while approval is pending, and
 * passes on `slow_down` as a longer interval), with a spinner and the elapsed time on a terminal.
 */
export async function waitForDevice(ctx: Context, signIn: DeviceSignIn): Promise<AccountView> {
  const { stderr } = ctx.io;
  const now = ctx.io.now ?? Date.now;
  const sleep = ctx.io.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  stderr.write(
    `Open ${signIn.verificationUri ?? signIn.verificationUriComplete ?? ''} and enter the code ${signIn.userCode ?? ''}\n` +
      (signIn.verificationUriComplete ? `(or open ${signIn.verificationUriComplete})\n` : ''),
  );
  const started = now();
  const deadline = Date.parse(signIn.expiresAt);
  let intervalMs = Math.max(1, signIn.intervalSeconds ?? 5) * 1000;
  for (let frame = 0; ; frame++) {
    const elapsed = Math.round((now() - started) / 1000);
    if (stderr.isTTY) stderr.write(`\r${FRAMES[frame % FRAMES.length]} waiting for approval… ${elapsed}s `);
    else if (frame === 0) stderr.write('waiting for approval…\n');
    try {
      const { status, body } = await callApi<{ account?: AccountView; status?: string; intervalSeconds?: number }>(
        ctx.client,
        'POST',
        `/v1/sign-ins/${encodeURIComponent(signIn.id)}/complete`,
        { body: {} },
      );
      if (status === 201 && body.account) {
        if (stderr.isTTY) stderr.write(`\r✓ approved after ${elapsed}s        \n`);
        return body.account;
      }
      if (body.intervalSeconds) intervalMs = Math.max(intervalMs, body.intervalSeconds * 1000);
    } catch (error) {
      if (stderr.isTTY) stderr.write('\n');
      throw error;
    }
    if (Number.isFinite(deadline) && now() + intervalMs > deadline) {
      if (stderr.isTTY) stderr.write('\n');
      throw new ApiError(410, 'sign_in_expired', 'The device code expired before it was approved; run login again.');
    }
    await sleep(intervalMs);
  }
}

import type { KeyfleetClient } from '#shared/proxy/client.ts';
import { type ProxyGrant, Secret } from '#shared/proxy/grant.ts';
import { ROUTES } from '#shared/proxy/routes.ts';

/** Renew when less than this is left. Below Keyfleet's own 10-minute threshold, so it refreshes. */
export const RENEW_BEFORE_MS = 5 * 60 * 1000;
/** After a failed renewal (or one that brought no longer-lived token), wait this long. */
export const RENEW_BACKOFF_MS = 30 * 1000;

/** setTimeout's largest delay; a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The account's credential in memory. API keys never change. OAuth access tokens are renewed
 * through the task token (`GET /v1/tasks/token`): ahead of expiry (in the background while the
 * current token still works, awaited once it has expired), when the expiry is unknown (once, at
 * start), and on demand after an upstream 401. Renewals are single-flight.
 */
export class CredentialKeeper {
  #current: Secret;
  #expiresAt: number | null;
  #inFlight: Promise<boolean> | undefined;
  #notBefore = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #renews: boolean;
  #closed = false;

  constructor(
    private readonly grant: ProxyGrant,
    private readonly client: KeyfleetClient,
    private readonly now: () => number,
    private readonly onError: (message: string) => void,
  ) {
    this.#current = grant.credential;
    this.#expiresAt = grant.credentialExpiresAt;
    this.#renews = ROUTES[`${grant.provider}:${grant.kind}`].renews;
  }

  /** Whether 401s can be cured by renewing (OAuth accounts). */
  get renews(): boolean {
    return this.#renews;
  }

  /** Epoch ms the current credential expires, when known. */
  get expiresAt(): number | null {
    return this.#expiresAt;
  }

  /** Starts background renewal: at once when the expiry is unknown, else shortly before it. */
  start(): void {
    if (!this.#renews) return;
    if (this.#expiresAt === null) void this.renew(false);
    else this.#schedule();
  }

  /** The credential to attach now; renews first if it has expired, starts a renewal if it is close. */
  async current(): Promise<Secret> {
    if (this.#renews && this.#expiresAt !== null) {
      const left = this.#expiresAt - this.now();
      if (left <= 0) await this.renew(false);
      else if (left < RENEW_BEFORE_MS) void this.renew(false);
    }
    return this.#current;
  }

  /**
   * Fetches a new access token (once at a time). `recover`: the upstream refused the current
   * token, so Keyfleet should refresh it whatever its expiry. Resolves whether a new one came.
   */
  renew(recover: boolean): Promise<boolean> {
    if (!this.#renews || this.#closed) return Promise.resolve(false);
    if (this.#inFlight) return this.#inFlight;
    if (!recover && this.now() < this.#notBefore) return Promise.resolve(false);
    this.#inFlight = this.#fetch(recover).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetch(recover: boolean): Promise<boolean> {
    try {
      const { accessToken, expiresIn } = await this.client.token(
        this.grant.taskToken.reveal(),
        this.grant.provider,
        recover,
      );
      const changed = accessToken !== this.#current.reveal();
      this.#current = new Secret(accessToken);
      this.#expiresAt = this.now() + expiresIn * 1000;
      if (expiresIn * 1000 <= RENEW_BEFORE_MS) this.#notBefore = this.now() + RENEW_BACKOFF_MS;
      this.#schedule();
      return changed;
    } catch (error) {
      this.#notBefore = this.now() + RENEW_BACKOFF_MS;
      this.onError((error as Error).message);
      return false;
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#closed || this.#expiresAt === null) return;
    const due = Math.max(this.#expiresAt - RENEW_BEFORE_MS, this.#notBefore) - this.now();
    this.#timer = setTimeout(() => void this.renew(false), Math.min(Math.max(due, 1000), MAX_TIMER_MS));
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

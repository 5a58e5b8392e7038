import type { KeyfleetClient, UsageReport } from '#shared/proxy/client.ts';
import type { RateLimitSignal } from '#shared/proxy/limits.ts';
import type { AnswerUsage } from '#shared/proxy/usage.ts';

/**
 * Per-launch counters: forwarded requests, upstream status codes, tokens, and the latest rate
 * limit the upstream announced. Totals are cumulative since the proxy started, so a lost report
 * loses nothing: the next one carries it.
 */
export class UsageMeter {
  requests = 0;
  inputTokens = 0;
  outputTokens = 0;
  readonly statusCounts: Record<string, number> = {};
  rateLimit: RateLimitSignal | undefined;
  /** Bumped on every change, so the reporter can skip reports that would say nothing new. */
  version = 0;

  /** One forwarded request, counted when its answer's status is known. */
  status(code: number): void {
    this.requests += 1;
    this.statusCounts[code] = (this.statusCounts[code] ?? 0) + 1;
    this.version += 1;
  }

  /** An answer's tokens, added once the answer has ended. */
  tokens(usage: AnswerUsage): void {
    if (usage.input === 0 && usage.output === 0) return;
    this.inputTokens += usage.input;
    this.outputTokens += usage.output;
    this.version += 1;
  }

  /** Keeps the limit that lasts longest. */
  limited(signal: RateLimitSignal): void {
    if (this.rateLimit && this.rateLimit.resetsAt >= signal.resetsAt) return;
    this.rateLimit = signal;
    this.version += 1;
  }

  /** The body of `POST /v1/tasks/usage`; a limit only while it has not reset yet. */
  report(now: number): UsageReport {
    const limit = this.rateLimit && this.rateLimit.resetsAt > now ? this.rateLimit : undefined;
    return {
      requests: this.requests,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      statusCounts: { ...this.statusCounts },
      ...(limit
        ? {
            rateLimit: {
              limited: true as const,
              resetsAt: new Date(limit.resetsAt).toISOString(),
              ...(limit.window ? { window: limit.window } : {}),
            },
          }
        : {}),
    };
  }
}

/** Reports every minute by default, and only when something changed. */
export const REPORT_INTERVAL_MS = 60_000;

/**
 * Sends the meter's totals with the task token: periodically while something changed, and once
 * more at close. A failed report is logged (route and status only) and retried with the next.
 */
export class UsageReporter {
  #sent = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly meter: UsageMeter,
    private readonly client: KeyfleetClient,
    private readonly taskToken: () => string,
    private readonly now: () => number,
    private readonly onError: (message: string) => void,
  ) {}

  start(intervalMs: number = REPORT_INTERVAL_MS): void {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Sends a report now if the totals changed since the last one that was accepted. */
  flush(): Promise<void> {
    this.#sending = this.#sending.then(async () => {
      const version = this.meter.version;
      if (version === this.#sent) return;
      try {
        await this.client.usage(this.taskToken(), this.meter.report(this.now()));
        this.#sent = version;
      } catch (error) {
        this.onError((error as Error).message);
      }
    });
    return this.#sending;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

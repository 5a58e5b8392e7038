import type { OutboundFailure } from '#shared/net/outbound.ts';
import type { UsageWindow } from '#shared/usage/view.ts';

export type { UsageWindow };

/**
 * Pay-as-you-go credits beside the windows (Claude `extra_usage`, Codex `credits`). Reported for
 * people to see; never a reason to skip an account.
 */
export interface UsageCredits {
  enabled: boolean | null;
  unlimited: boolean | null;
  /** What is left, as the provider writes it (Codex sends a decimal string). */
  balance: string | null;
  used: number | null;
  monthlyLimit: number | null;
}

/** An OAuth account's allowance (API.md Account `usage`). */
export interface AccountUsage {
  /** The subscription plan when the provider names it (`pro`, `plus`, `standard-tier`); else null. */
  plan: string | null;
  /** When Keyfleet read it (ISO-8601 UTC). */
  readAt: string;
  /** Only windows the provider reported with a percentage: a missing window is unknown, not 0 %. */
  windows: UsageWindow[];
  /** Optional extra beside the API.md shape; null when the provider reported none. */
  credits: UsageCredits | null;
}

/** Why a usage read gave no answer. None of these may affect refresh or launches. */
export type UsageFailureKind =
  /** No endpoint with a known response shape (Grok, Bob): the allowance stays unknown. */
  | 'unsupported'
  /** The account has no OAuth credential to ask with (not OAuth, secret unreadable, token expired). */
  | 'credential_unavailable'
  /** 401/403: the access token is expired, revoked or lacks the scope. */
  | 'unauthorized'
  /** 429 from the usage endpoint itself (not a statement about the account's windows). */
  | 'rate_limited'
  /** Any other non-2xx answer. */
  | 'upstream_status'
  /** 2xx whose body is not a JSON object. */
  | 'bad_response'
  /** The call did not complete (address guard, DNS, TLS, timeout). */
  | 'network';

export interface UsageFailure {
  ok: false;
  kind: UsageFailureKind;
  /** A fixed phrase safe to show and log: never response text, addresses or tokens. */
  detail: string;
  /** The HTTP status when there was an answer. */
  status: number | null;
  /** From `Retry-After` on a 429, in milliseconds; null when absent or unreadable. */
  retryAfterMs: number | null;
  /** The transport's fixed phrase when kind is `network`. */
  network?: OutboundFailure;
}

export interface UsageSuccess {
  ok: true;
  usage: AccountUsage;
}

export type UsageResult = UsageSuccess | UsageFailure;

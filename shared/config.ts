import { ConfigError } from '#shared/errors.ts';
import { checkEndpointUrl } from '#shared/net/urls.ts';

/** Everything a Keyfleet function reads from its environment, read once and checked at start. */
export interface Config {
  /** DynamoDB table holding metadata (never tokens). */
  tableName: string;
  /** Secrets are named `keyfleet/<stage>/<provider>/<accountId>`. */
  stage: string;
  /** Customer-managed KMS key for new secrets; the account's default key when absent. */
  kmsKeyId: string | undefined;
  /** What containers call back (tickets, task tokens, Codex refresh route). */
  apiUrl: string | undefined;
  /**
   * The refresh function launches and container routes invoke when a token needs refreshing
   * (`KEYFLEET_REFRESH_FUNCTION_NAME`); unset in local mode, which refreshes in process.
   */
  refreshFunctionName: string | undefined;
  /** Raw `KEYFLEET_PROVIDER_OVERRIDES` JSON, checked by the providers module. */
  providerOverrides: unknown;
  /** IAM principal ARN patterns (`*` wildcard) that are admins when the API uses IAM auth. */
  adminPrincipals: string[];
  /**
   * IAM auth: roles (names, or role ARNs) whose session names the identity provider sets, so a
   * session of them names a person. IAM Identity Center's `AWSReservedSSO_*` roles always count.
   */
  personRoles: string[];
  /** JWT auth: the claim that lists the caller's groups, and the group that makes an admin. */
  groupsClaim: string;
  adminGroup: string;
  /** Clusters (names or ARNs) launches may use; empty: any (IAM still limits the launch role). */
  launchClusters: string[];
  /** Task-definition families launches may run; empty: any. */
  launchTaskFamilies: string[];
  /** Keep-alive: refreshes in flight at once (`KEYFLEET_REFRESH_CONCURRENCY`). */
  refreshConcurrency: number;
  /** Keep-alive: refreshes started per second at most (`KEYFLEET_REFRESH_PER_SECOND`). */
  refreshPerSecond: number;
  /** Keep-alive: an OAuth account's usage is read at most this often (`KEYFLEET_USAGE_INTERVAL_MINUTES`). */
  usageIntervalMinutes: number;
}

/**
 * Keep-alive pacing: defaults and the largest accepted values. Every refresh ends in one Secrets
 * Manager write, and the region allows 50 a second (PutSecretValue) for every writer together, so
 * the sweep may take at most 40 of them; 25 in flight is what 40 starts a second need when a
 * refresh takes under half a second.
 */
export const REFRESH_LIMITS = {
  concurrency: { name: 'KEYFLEET_REFRESH_CONCURRENCY', fallback: 4, min: 1, max: 25 },
  perSecond: { name: 'KEYFLEET_REFRESH_PER_SECOND', fallback: 10, min: 1, max: 40 },
} as const;

/** How often the sweep may read one account's usage, in minutes: default, and accepted range (5 min to a day). */
export const USAGE_INTERVAL = { name: 'KEYFLEET_USAGE_INTERVAL_MINUTES', fallback: 10, min: 5, max: 24 * 60 } as const;

type Env = Record<string, string | undefined>;

/** A whole-number variable: its name, its value when unset or blank, and the accepted range. */
export interface WholeNumberSetting {
  name: string;
  fallback: number;
  min: number;
  max: number;
}

/**
 * Reads a whole-number variable: its fallback when unset or blank, else a whole number from `min`
 * to `max` (surrounding spaces allowed). Anything else (a sign, a fraction, an exponent, a value
 * out of range) adds one problem naming the variable and the range, and answers the fallback: a
 * value above a cap is refused, never silently replaced by the default or clamped.
 */
export function wholeNumber(env: Env, setting: WholeNumberSetting, problems: string[]): number {
  const { name, fallback, min, max } = setting;
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (value >= min && value <= max) return value;
  problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw.slice(0, 20)}")`);
  return fallback;
}

const STAGE = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** A {@link ConfigError} that keeps its problems apart, so a start-up can show one per line. */
export class ConfigProblems extends ConfigError {
  constructor(readonly problems: string[]) {
    super(`Keyfleet configuration is invalid: ${problems.join('; ')}`);
  }
}

/**
 * Parses the environment. Every problem is collected and reported in one {@link ConfigError},
 * so a misconfigured function fails at start with the full list rather than on first use.
 */
export function loadConfig(env: Env = process.env): Config {
  const { config, problems } = readConfig(env);
  if (problems.length > 0) throw new ConfigProblems(problems);
  return config;
}

/**
 * Parses the environment without throwing: the configuration (with defaults where a value is
 * missing or bad) and every problem found. `shared/startup.ts` adds the providers' own problems.
 */
export function readConfig(env: Env = process.env): { config: Config; problems: string[] } {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };

  const tableName = required('KEYFLEET_TABLE_NAME');
  const stage = env.KEYFLEET_STAGE?.trim() || 'dev';
  if (!STAGE.test(stage)) problems.push('KEYFLEET_STAGE must be 1-32 lowercase letters, digits or dashes');

  const apiUrl = env.KEYFLEET_API_URL?.trim() || undefined;
  if (apiUrl) {
    const checked = checkEndpointUrl(apiUrl);
    if (!checked.ok) problems.push(`KEYFLEET_API_URL ${checked.reason}`);
  }

  let providerOverrides: unknown = {};
  const rawOverrides = env.KEYFLEET_PROVIDER_OVERRIDES?.trim();
  if (rawOverrides) {
    try {
      providerOverrides = JSON.parse(rawOverrides);
    } catch {
      problems.push('KEYFLEET_PROVIDER_OVERRIDES is not valid JSON');
    }
  }

  const csv = (value: string | undefined): string[] =>
    (value ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
  const config: Config = {
    tableName,
    stage,
    kmsKeyId: env.KEYFLEET_KMS_KEY_ID?.trim() || undefined,
    apiUrl,
    refreshFunctionName: env.KEYFLEET_REFRESH_FUNCTION_NAME?.trim() || undefined,
    providerOverrides,
    adminPrincipals: csv(env.KEYFLEET_ADMIN_PRINCIPALS),
    personRoles: csv(env.KEYFLEET_PERSON_ROLES),
    groupsClaim: env.KEYFLEET_GROUPS_CLAIM?.trim() || 'cognito:groups',
    adminGroup: env.KEYFLEET_ADMIN_GROUP?.trim() || 'keyfleet-admins',
    launchClusters: csv(env.KEYFLEET_LAUNCH_CLUSTERS),
    launchTaskFamilies: csv(env.KEYFLEET_LAUNCH_TASK_FAMILIES),
    refreshConcurrency: wholeNumber(env, REFRESH_LIMITS.concurrency, problems),
    refreshPerSecond: wholeNumber(env, REFRESH_LIMITS.perSecond, problems),
    usageIntervalMinutes: wholeNumber(env, USAGE_INTERVAL, problems),
  };
  return { config, problems };
}

let cached: Config | undefined;

/** The process-wide configuration, parsed on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

import type { Node } from 'constructs';

/**
 * The CDK context keys Keyfleet reads (`cdk deploy -c key=value`, or `cdk.json`), with defaults.
 * Values given on the command line arrive as strings; lists may be JSON arrays or comma-separated.
 */
export interface KeyfleetContext {
  stage: string;
  auth: 'iam' | 'jwt';
  jwtIssuer: string | undefined;
  jwtAudience: string[];
  groupsClaim: string;
  adminGroup: string;
  adminPrincipals: string[];
  launch: { clusters: string[]; taskDefinitionFamilies: string[]; passRoles: string[] };
  providerOverrides: Record<string, unknown> | undefined;
  logRetentionDays: number;
  removalPolicy: 'retain' | 'destroy';
  deletionProtection: boolean;
  throttle: { rateLimit: number; burstLimit: number };
  alarmEmail: string | undefined;
}

function parse(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return JSON.parse(trimmed);
  return value;
}

function list(value: unknown, name: string): string[] {
  const parsed = parse(value);
  if (parsed === undefined || parsed === null || parsed === '') return [];
  if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
  if (typeof parsed === 'string')
    return parsed
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  throw new Error(`context "${name}" must be a list of strings`);
}

function bool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error('boolean context values must be true or false');
}

function int(value: unknown, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`context "${name}" must be a whole number from ${min} to ${max}`);
  return n;
}

/** Reads and checks every context key; a bad value stops synth with a message naming the key. */
export function readContext(node: Node): KeyfleetContext {
  const get = (key: string): unknown => node.tryGetContext(key);
  const stage = String(get('stage') ?? 'prod');
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(stage))
    throw new Error('context "stage" must be 1-32 lowercase letters, digits or dashes');
  const auth = String(get('auth') ?? 'iam');
  if (auth !== 'iam' && auth !== 'jwt') throw new Error('context "auth" must be "iam" or "jwt"');
  const jwtIssuer = get('jwtIssuer') === undefined ? undefined : String(get('jwtIssuer'));
  const jwtAudience = list(get('jwtAudience'), 'jwtAudience');
  if (auth === 'jwt' && (!jwtIssuer?.startsWith('https://') || jwtAudience.length === 0)) {
    throw new Error('auth "jwt" needs context "jwtIssuer" (https://…) and "jwtAudience"');
  }
  const launch = (parse(get('launch')) ?? {}) as Record<string, unknown>;
  const overrides = parse(get('providerOverrides'));
  const removalPolicy = String(get('removalPolicy') ?? 'retain');
  if (removalPolicy !== 'retain' && removalPolicy !== 'destroy')
    throw new Error('context "removalPolicy" must be "retain" or "destroy"');
  const throttle = (parse(get('throttle')) ?? {}) as Record<string, unknown>;
  return {
    stage,
    auth,
    jwtIssuer,
    jwtAudience,
    groupsClaim: String(get('groupsClaim') ?? 'cognito:groups'),
    adminGroup: String(get('adminGroup') ?? 'keyfleet-admins'),
    adminPrincipals: list(get('adminPrincipals'), 'adminPrincipals'),
    launch: {
      clusters: list(launch.clusters, 'launch.clusters'),
      taskDefinitionFamilies: list(launch.taskDefinitionFamilies, 'launch.taskDefinitionFamilies'),
      passRoles: list(launch.passRoles, 'launch.passRoles'),
    },
    providerOverrides: overrides && typeof overrides === 'object' ? (overrides as Record<string, unknown>) : undefined,
    logRetentionDays: int(get('logRetentionDays'), 90, 'logRetentionDays', 1, 3653),
    removalPolicy,
    deletionProtection: bool(get('deletionProtection'), removalPolicy === 'retain'),
    throttle: {
      rateLimit: int(throttle.rateLimit, 50, 'throttle.rateLimit', 1, 10_000),
      burstLimit: int(throttle.burstLimit, 100, 'throttle.burstLimit', 1, 5_000),
    },
    alarmEmail: get('alarmEmail') === undefined ? undefined : String(get('alarmEmail')),
  };
}

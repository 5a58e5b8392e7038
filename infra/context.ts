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
  /** IAM auth: roles (names or role ARNs) whose session names name people; see `shared/http/identity.ts`. */
  personRoles: string[];
  launch: { clusters: string[]; taskDefinitionFamilies: string[]; passRoles: string[] };
  providerOverrides: Record<string, unknown> | undefined;
  logRetentionDays: number;
  removalPolicy: 'retain' | 'destroy';
  deletionProtection: boolean;
  throttle: { rateLimit: number; burstLimit: number };
  /** Route-level throttle of each container route (ticket redemption, task token, Codex refresh). */
  containerThrottle: { rateLimit: number; burstLimit: number };
  alarmEmail: string | undefined;
  /**
   * JWT auth: the web console's public client at the identity provider (its redirect URI is
   * `<ApiUrl>/console/callback`; it must be one of `jwtAudience`), and extra origins the page may
   * call while signing in (e.g. a hosted sign-in domain). IAM-auth stacks open the console through
   * `keyfleet console` instead.
   */
  console: { clientId: string; connectSrc: string[] } | undefined;
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

/** Role names as IAM allows them (no commas: the list travels comma-separated), or role ARNs. */
const PERSON_ROLE = /^(?:[\w+=.@-]{1,64}|arn:[a-z-]+:iam::\d{12}:role\/(?:[\w+=.@-]+\/)*[\w+=.@-]{1,64})$/;

function personRoles(value: unknown): string[] {
  const roles = list(value, 'personRoles');
  const bad = roles.filter((role) => !PERSON_ROLE.test(role));
  if (bad.length > 0)
    throw new Error(`context "personRoles" must list role names or role ARNs; not: ${bad.join(', ')}`);
  return roles;
}

function throttleOf(value: unknown, name: string, fallback: { rateLimit: number; burstLimit: number }) {
  const given = (parse(value) ?? {}) as Record<string, unknown>;
  return {
    rateLimit: int(given.rateLimit, fallback.rateLimit, `${name}.rateLimit`, 1, 10_000),
    burstLimit: int(given.burstLimit, fallback.burstLimit, `${name}.burstLimit`, 1, 5_000),
  };
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
  return {
    stage,
    auth,
    jwtIssuer,
    jwtAudience,
    groupsClaim: String(get('groupsClaim') ?? 'cognito:groups'),
    adminGroup: String(get('adminGroup') ?? 'keyfleet-admins'),
    adminPrincipals: list(get('adminPrincipals'), 'adminPrincipals'),
    personRoles: personRoles(get('personRoles')),
    launch: {
      clusters: list(launch.clusters, 'launch.clusters'),
      taskDefinitionFamilies: list(launch.taskDefinitionFamilies, 'launch.taskDefinitionFamilies'),
      passRoles: list(launch.passRoles, 'launch.passRoles'),
    },
    providerOverrides: overrides && typeof overrides === 'object' ? (overrides as Record<string, unknown>) : undefined,
    logRetentionDays: int(get('logRetentionDays'), 90, 'logRetentionDays', 1, 3653),
    removalPolicy,
    deletionProtection: bool(get('deletionProtection'), removalPolicy === 'retain'),
    throttle: throttleOf(get('throttle'), 'throttle', { rateLimit: 50, burstLimit: 100 }),
    containerThrottle: throttleOf(get('containerThrottle'), 'containerThrottle', { rateLimit: 20, burstLimit: 40 }),
    alarmEmail: get('alarmEmail') === undefined ? undefined : String(get('alarmEmail')),
    console: consoleOf(auth, jwtAudience, get('consoleClientId'), list(get('consoleConnectSrc'), 'consoleConnectSrc')),
  };
}

function consoleOf(
  auth: 'iam' | 'jwt',
  audience: string[],
  clientId: unknown,
  connectSrc: string[],
): KeyfleetContext['console'] {
  if (auth !== 'jwt') return undefined;
  const id = clientId === undefined ? audience[0] : String(clientId);
  if (!id || !audience.includes(id))
    throw new Error('context "consoleClientId" must be one of "jwtAudience" (the console signs in as that client)');
  for (const origin of connectSrc)
    if (!/^https:\/\/[^/\s]+$/.test(origin)) throw new Error('context "consoleConnectSrc" takes https:// origins');
  return { clientId: id, connectSrc };
}

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '#shared/config.ts';
import type { Caller } from '#shared/http/types.ts';

/** The parts of the HTTP API request context that carry the caller, by authorizer type. */
interface AuthorizerContext {
  iam?: { userArn?: string; userId?: string };
  jwt?: { claims?: Record<string, unknown> };
  lambda?: Record<string, unknown>;
}

/**
 * Works out who is calling from the authorizer's output:
 * - Lambda authorizer context (local mode's bearer tokens): `callerId` and `role` as given;
 * - JWT: `sub`, admin when the groups claim contains the admin group;
 * - IAM (SigV4): see {@link iamCaller}.
 * Returns null when no authorizer identified anyone.
 */
export function callerFromEvent(event: APIGatewayProxyEventV2, cfg: Config): Caller | null {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  if (!authorizer) return null;

  const lambda = authorizer.lambda;
  if (lambda && typeof lambda.callerId === 'string' && lambda.callerId) {
    return { id: lambda.callerId, role: lambda.role === 'admin' ? 'admin' : 'member' };
  }

  const claims = authorizer.jwt?.claims;
  if (claims && typeof claims.sub === 'string' && claims.sub) {
    const groups = parseGroups(claims[cfg.groupsClaim]);
    return { id: claims.sub, role: groups.includes(cfg.adminGroup) ? 'admin' : 'member' };
  }

  const arn = authorizer.iam?.userArn;
  if (typeof arn === 'string' && arn) return iamCaller(arn, cfg);
  return null;
}

/** `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`: role ARNs carry no path here. */
const ASSUMED_ROLE = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;
/** IAM users (any path) and the account root: AWS alone decides these names. */
const IAM_PRINCIPAL = /^arn:[a-z-]+:iam::\d{12}:(?:user\/.+|root)$/;
/** `arn:<partition>:iam::<account>:role/<path…>/<name>`, as operators write role ARNs. */
const ROLE_ARN = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;
/** An admin pattern naming every session of one role, written in the session-ARN form. */
const ANY_SESSION_PATTERN = /^arn:([a-z-]+):sts::([^:]*):assumed-role\/([^/]+)\/\*$/;

/** IAM Identity Center creates these roles, and sets their session names to the user's name. */
const IDENTITY_CENTER_ROLE_PREFIX = 'AWSReservedSSO_';

interface AssumedRole {
  partition: string;
  account: string;
  role: string;
  /** `arn:<partition>:iam::<account>:role/<role>`: the same for every session of the role. */
  roleArn: string;
}

/**
 * The caller behind an IAM (SigV4) principal ARN. Whoever may assume a role picks its session
 * name, so a session names a person only for IAM Identity Center roles and `personRoles`; the id
 * is then the whole session ARN. Any other assumed role is one caller, the role (id: its role
 * ARN). IAM users and the root keep their ARN. Other principals (GetFederationToken users, whose
 * name is also chosen by the caller) are not identified: null.
 *
 * Admin: an `adminPrincipals` pattern matches the caller id, or, for assumed roles, the role ARN
 * (so `arn:…:iam::<account>:role/<role>` and `arn:…:sts::<account>:assumed-role/<role>/*` both
 * mean "any session of this role"). A pattern naming sessions cannot match a non-person role.
 */
export function iamCaller(arn: string, cfg: Pick<Config, 'adminPrincipals' | 'personRoles'>): Caller | null {
  const assumed = parseAssumedRole(arn);
  let id: string;
  let candidates: string[];
  if (assumed) {
    const person = isPersonRole(assumed, cfg.personRoles);
    id = person ? arn : assumed.roleArn;
    candidates = person ? [arn, assumed.roleArn] : [assumed.roleArn];
  } else if (IAM_PRINCIPAL.test(arn)) {
    id = arn;
    candidates = [arn];
  } else {
    return null;
  }
  const admin = cfg.adminPrincipals
    .map(normalisePattern)
    .some((pattern) => candidates.some((candidate) => matchesArnPattern(candidate, pattern)));
  return { id, role: admin ? 'admin' : 'member' };
}

function parseAssumedRole(arn: string): AssumedRole | null {
  const match = ASSUMED_ROLE.exec(arn);
  if (!match) return null;
  const [, partition = '', account = '', role = ''] = match;
  return { partition, account, role, roleArn: `arn:${partition}:iam::${account}:role/${role}` };
}

/** `personRoles` entries are role names (any account) or role ARNs (that account, any path). */
function isPersonRole(assumed: AssumedRole, personRoles: string[]): boolean {
  if (assumed.role.startsWith(IDENTITY_CENTER_ROLE_PREFIX)) return true;
  return personRoles.some((entry) => {
    const roleArn = ROLE_ARN.exec(entry);
    if (!roleArn) return entry === assumed.role;
    const [, partition, account, name] = roleArn;
    return partition === assumed.partition && account === assumed.account && name === assumed.role;
  });
}

/** `…:sts::<account>:assumed-role/<role>/*` means the role, whoever the caller turns out to be. */
function normalisePattern(pattern: string): string {
  const match = ANY_SESSION_PATTERN.exec(pattern);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : pattern;
}

/** HTTP APIs pass array claims as `"[a b c]"`; JWTs may also carry a real array or one string. */
export function parseGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value !== 'string') return [];
  const trimmed = value.trim();
  const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return inner.split(/[\s,]+/).filter(Boolean);
}

/** `*` matches any run of characters; everything else literally. */
export function matchesArnPattern(arn: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return regex.test(arn);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

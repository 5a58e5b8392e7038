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
 * - IAM (SigV4): the principal ARN, admin when it matches an `adminPrincipals` pattern.
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
  if (typeof arn === 'string' && arn) {
    const admin = cfg.adminPrincipals.some((pattern) => matchesArnPattern(arn, pattern));
    return { id: arn, role: admin ? 'admin' : 'member' };
  }
  return null;
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

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#shared/config.ts';
import { callerFromEvent, iamCaller, matchesArnPattern, parseGroups } from '#shared/http/identity.ts';

const ACCOUNT = '111122223333';
const sts = (role: string, session: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`;
const roleArn = (role: string) => `arn:aws:iam::${ACCOUNT}:role/${role}`;
const SSO_DEV = 'AWSReservedSSO_Developers_0123456789abcdef';
const SSO_ADMIN = 'AWSReservedSSO_PlatformAdmins_fedcba9876543210';

const config = loadConfig({
  KEYFLEET_TABLE_NAME: 't',
  KEYFLEET_ADMIN_PRINCIPALS: 'arn:aws:sts::111122223333:assumed-role/KeyfleetAdmin/*',
  KEYFLEET_GROUPS_CLAIM: 'groups',
  KEYFLEET_ADMIN_GROUP: 'platform',
});

/** Builds the IAM part of the configuration the way the functions read it from the environment. */
const iamConfig = (adminPrincipals: string, personRoles = '') =>
  loadConfig({
    KEYFLEET_TABLE_NAME: 't',
    KEYFLEET_ADMIN_PRINCIPALS: adminPrincipals,
    KEYFLEET_PERSON_ROLES: personRoles,
  });

const event = (authorizer: unknown): APIGatewayProxyEventV2 =>
  ({ requestContext: { authorizer } }) as unknown as APIGatewayProxyEventV2;

describe('callerFromEvent', () => {
  it('reads IAM principals: a shared role is the role, and an any-session pattern makes it admin', () => {
    expect(callerFromEvent(event({ iam: { userArn: sts('KeyfleetAdmin', 'alice') } }), config)).toEqual({
      id: roleArn('KeyfleetAdmin'),
      role: 'admin',
    });
    expect(callerFromEvent(event({ iam: { userArn: sts('Dev', 'bob') } }), config)).toEqual({
      id: roleArn('Dev'),
      role: 'member',
    });
  });

  it('reads JWT claims, with HTTP API style group lists', () => {
    expect(callerFromEvent(event({ jwt: { claims: { sub: 'u1', groups: '[dev platform]' } } }), config)).toEqual({
      id: 'u1',
      role: 'admin',
    });
    expect(callerFromEvent(event({ jwt: { claims: { sub: 'u2', groups: ['dev'] } } }), config)).toEqual({
      id: 'u2',
      role: 'member',
    });
  });

  it('reads the local authorizer context', () => {
    expect(callerFromEvent(event({ lambda: { callerId: 'admin', role: 'admin' } }), config)).toEqual({
      id: 'admin',
      role: 'admin',
    });
  });

  it('returns null without an authorizer', () => {
    expect(callerFromEvent(event(undefined), config)).toBeNull();
    expect(callerFromEvent(event({ jwt: { claims: {} } }), config)).toBeNull();
    expect(callerFromEvent(event({ iam: { userArn: '' } }), config)).toBeNull();
  });
});

describe('IAM identity', () => {
  it('regression: RoleSessionName=<colleague> on a shared role does not act as that colleague', () => {
    // Alice's personal accounts were keyed by `assumed-role/Dev/alice`; anyone allowed to assume
    // Dev could pick RoleSessionName=alice and become her, or match an admin pattern naming her.
    const cfg = iamConfig(sts('Dev', 'alice'));
    const as = (session: string) => callerFromEvent(event({ iam: { userArn: sts('Dev', session) } }), cfg);
    expect(as('alice')).toEqual({ id: roleArn('Dev'), role: 'member' });
    expect(as('mallory')).toEqual({ id: roleArn('Dev'), role: 'member' });
  });

  it('treats sessions of IAM Identity Center roles as people, each with the session ARN as id', () => {
    const cfg = iamConfig('');
    expect(iamCaller(sts(SSO_DEV, 'alice@example.com'), cfg)).toEqual({
      id: sts(SSO_DEV, 'alice@example.com'),
      role: 'member',
    });
    expect(iamCaller(sts(SSO_DEV, 'bob@example.com'), cfg)?.id).toBe(sts(SSO_DEV, 'bob@example.com'));
  });

  it('treats sessions of roles listed in personRoles as people, by role name or role ARN', () => {
    const byName = iamConfig('', 'SamlEngineers');
    expect(iamCaller(sts('SamlEngineers', 'carol'), byName)?.id).toBe(sts('SamlEngineers', 'carol'));
    expect(iamCaller(sts('SamlEngineersX', 'carol'), byName)?.id).toBe(roleArn('SamlEngineersX'));

    const byArn = iamConfig('', `arn:aws:iam::${ACCOUNT}:role/federation/SamlEngineers`);
    expect(iamCaller(sts('SamlEngineers', 'carol'), byArn)?.id).toBe(sts('SamlEngineers', 'carol'));
    expect(iamCaller('arn:aws:sts::444455556666:assumed-role/SamlEngineers/carol', byArn)?.id).toBe(
      'arn:aws:iam::444455556666:role/SamlEngineers',
    );
  });

  it('keeps IAM users and the account root as they are', () => {
    const cfg = iamConfig(`arn:aws:iam::${ACCOUNT}:user/ops/*`);
    expect(iamCaller(`arn:aws:iam::${ACCOUNT}:user/ops/dana`, cfg)).toEqual({
      id: `arn:aws:iam::${ACCOUNT}:user/ops/dana`,
      role: 'admin',
    });
    expect(iamCaller(`arn:aws:iam::${ACCOUNT}:root`, cfg)).toEqual({
      id: `arn:aws:iam::${ACCOUNT}:root`,
      role: 'member',
    });
  });

  it('identifies nobody from a federated-user session or an ARN it does not recognise', () => {
    const cfg = iamConfig('*');
    expect(iamCaller(`arn:aws:sts::${ACCOUNT}:federated-user/alice`, cfg)).toBeNull();
    expect(iamCaller('not-an-arn', cfg)).toBeNull();
    expect(iamCaller(`arn:aws:sts::${ACCOUNT}:assumed-role/Dev`, cfg)).toBeNull();
  });

  it('accepts the role ARN form as any session of the role, for shared and person roles alike', () => {
    const cfg = iamConfig(`${roleArn('PlatformAdmin')},${roleArn(SSO_ADMIN)}`);
    expect(iamCaller(sts('PlatformAdmin', 'deploy-bot'), cfg)).toEqual({ id: roleArn('PlatformAdmin'), role: 'admin' });
    expect(iamCaller(sts(SSO_ADMIN, 'erin@example.com'), cfg)).toEqual({
      id: sts(SSO_ADMIN, 'erin@example.com'),
      role: 'admin',
    });
    expect(iamCaller(sts('PlatformAdminX', 'x'), cfg)?.role).toBe('member');
    expect(iamCaller(`arn:aws:sts::444455556666:assumed-role/PlatformAdmin/x`, cfg)?.role).toBe('member');
  });

  it('accepts the assumed-role/<role>/* form as any session of the role', () => {
    const cfg = iamConfig(`arn:aws:sts::${ACCOUNT}:assumed-role/PlatformAdmin/*`);
    expect(iamCaller(sts('PlatformAdmin', 'anyone'), cfg)).toEqual({ id: roleArn('PlatformAdmin'), role: 'admin' });
    expect(iamCaller(sts('Dev', 'anyone'), cfg)?.role).toBe('member');
  });

  it('lets an admin pattern name one person of an Identity Center role, and no session of a shared role', () => {
    const cfg = iamConfig(`${sts(SSO_ADMIN, 'erin@example.com')},${sts('Shared', 'erin@example.com')},*/frank`);
    expect(iamCaller(sts(SSO_ADMIN, 'erin@example.com'), cfg)?.role).toBe('admin');
    expect(iamCaller(sts(SSO_ADMIN, 'gus@example.com'), cfg)?.role).toBe('member');
    expect(iamCaller(sts(SSO_DEV, 'frank'), cfg)?.role).toBe('admin');
    expect(iamCaller(sts('Shared', 'erin@example.com'), cfg)).toEqual({ id: roleArn('Shared'), role: 'member' });
    expect(iamCaller(sts('Shared', 'frank'), cfg)).toEqual({ id: roleArn('Shared'), role: 'member' });
  });

  it('honours the partition of the caller', () => {
    const cfg = iamConfig('arn:aws-cn:iam::111122223333:role/PlatformAdmin');
    expect(iamCaller('arn:aws-cn:sts::111122223333:assumed-role/PlatformAdmin/s', cfg)).toEqual({
      id: 'arn:aws-cn:iam::111122223333:role/PlatformAdmin',
      role: 'admin',
    });
    expect(iamCaller(sts('PlatformAdmin', 's'), cfg)?.role).toBe('member');
  });
});

describe('helpers', () => {
  it('parses group claims in every shape', () => {
    expect(parseGroups('[a b]')).toEqual(['a', 'b']);
    expect(parseGroups('a,b')).toEqual(['a', 'b']);
    expect(parseGroups(['a', 1])).toEqual(['a']);
    expect(parseGroups(undefined)).toEqual([]);
  });

  it('treats only * as a wildcard in ARN patterns', () => {
    expect(matchesArnPattern('arn:aws:iam::1:role/A.B', 'arn:aws:iam::1:role/A.B')).toBe(true);
    expect(matchesArnPattern('arn:aws:iam::1:role/AxB', 'arn:aws:iam::1:role/A.B')).toBe(false);
    expect(matchesArnPattern('arn:aws:iam::1:role/Admin-x', 'arn:aws:iam::1:role/Admin-*')).toBe(true);
  });
});

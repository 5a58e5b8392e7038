import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#shared/config.ts';
import { callerFromEvent, matchesArnPattern, parseGroups } from '#shared/http/identity.ts';

const config = loadConfig({
  KEYFLEET_TABLE_NAME: 't',
  KEYFLEET_ADMIN_PRINCIPALS: 'arn:aws:sts::111122223333:assumed-role/KeyfleetAdmin/*',
  KEYFLEET_GROUPS_CLAIM: 'groups',
  KEYFLEET_ADMIN_GROUP: 'platform',
});

const event = (authorizer: unknown): APIGatewayProxyEventV2 =>
  ({ requestContext: { authorizer } }) as unknown as APIGatewayProxyEventV2;

describe('callerFromEvent', () => {
  it('reads IAM principals and matches admin patterns', () => {
    expect(
      callerFromEvent(
        event({ iam: { userArn: 'arn:aws:sts::111122223333:assumed-role/KeyfleetAdmin/alice' } }),
        config,
      ),
    ).toEqual({
      id: 'arn:aws:sts::111122223333:assumed-role/KeyfleetAdmin/alice',
      role: 'admin',
    });
    expect(
      callerFromEvent(event({ iam: { userArn: 'arn:aws:sts::111122223333:assumed-role/Dev/bob' } }), config)?.role,
    ).toBe('member');
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

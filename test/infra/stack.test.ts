import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synth } from '#test/helpers/synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let iam: Synthesized;

/** Authenticated by their ticket or task token, not by API Gateway. */
const CONTAINER_ROUTES = ['GET /v1/tasks/token', 'POST /v1/oauth/codex/token', 'POST /v1/tickets/redeem'];

const LAUNCH = {
  clusters: ['agents'],
  taskDefinitionFamilies: ['agent'],
  passRoles: ['arn:aws:iam::111122223333:role/agent-task', 'arn:aws:iam::111122223333:role/agent-exec'],
};

beforeAll(() => {
  iam = synth({ launch: JSON.stringify(LAUNCH) });
});

const resources = (s: Synthesized, type: string): [string, Resource][] =>
  Object.entries((s.json.Resources ?? {}) as Record<string, Resource>).filter(([, r]) => r.Type === type);

/** Policy statements of the role of the function whose logical id starts with `prefix`. */
function statementsOf(s: Synthesized, prefix: string): Statement[] {
  return resources(s, 'AWS::IAM::Policy')
    .filter(([id]) => id.startsWith(`${prefix}Role`))
    .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (statements: Statement[]) =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe('synth', () => {
  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    expect(iam.findings).toEqual([]);
  });

  it('bundles every function as an ESM file with the SDK inside', () => {
    const bundles = readdirSync(iam.outdir).filter((d) => d.startsWith('asset.'));
    expect(bundles.length).toBe(resources(iam, 'AWS::Lambda::Function').length);
    for (const dir of bundles) expect(readdirSync(join(iam.outdir, dir))).toContain('index.mjs');
  });

  it('synthesises with the JWT authorizer from context', () => {
    const jwt = synth(
      { auth: 'jwt', jwtIssuer: 'https://idp.example.com/', jwtAudience: 'keyfleet', adminGroup: 'platform' },
      { bundle: false },
    );
    expect(jwt.findings).toEqual([]);
    jwt.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://idp.example.com/', Audience: ['keyfleet'] },
    });
    for (const [, route] of resources(jwt, 'AWS::ApiGatewayV2::Route')) {
      const key = String(route.Properties.RouteKey);
      expect(route.Properties.AuthorizationType, key).toBe(CONTAINER_ROUTES.includes(key) ? 'NONE' : 'JWT');
    }
    jwt.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KEYFLEET_ADMIN_GROUP: 'platform' }) },
    });
  });

  it('refuses a JWT configuration without issuer and audience', () => {
    expect(() => synth({ auth: 'jwt' }, { bundle: false })).toThrow(/jwtIssuer/);
  });
});

describe('functions', () => {
  it('run on the newest Node.js runtime, arm64, each with its own log group and retention', () => {
    const functions = resources(iam, 'AWS::Lambda::Function');
    expect(functions.length).toBe(6);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: expect.any(String) } });
    }
    for (const [, group] of resources(iam, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toEqual(expect.any(Number));
    }
  });
});

describe('IAM', () => {
  it('grants no wildcard action and no wildcard resource in any policy', () => {
    for (const [id, policy] of resources(iam, 'AWS::IAM::Policy')) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        for (const action of actionsOf([statement])) expect(action, id).not.toContain('*');
        expect(statement.Resource, id).not.toBe('*');
      }
    }
  });

  it('lets only the accounts and refresh functions write secrets, under the stage prefix only', () => {
    const writers = resources(iam, 'AWS::IAM::Policy')
      .filter(([, p]) =>
        actionsOf((p.Properties.PolicyDocument as { Statement: Statement[] }).Statement).includes(
          'secretsmanager:PutSecretValue',
        ),
      )
      .map(([id]) => id.replace(/Role.*/, ''));
    expect(writers.sort()).toEqual(['Accounts', 'Refresh']);
    for (const prefix of ['Accounts', 'Refresh']) {
      const vault = statementsOf(iam, prefix).find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
      expect(JSON.stringify(vault?.Resource)).toContain(':secret:keyfleet/test/*');
    }
    expect(actionsOf(statementsOf(iam, 'Refresh'))).not.toContain('secretsmanager:CreateSecret');
    expect(actionsOf(statementsOf(iam, 'Refresh'))).not.toContain('secretsmanager:DeleteSecret');
  });

  it('lets only the launch function run tasks: listed families, listed clusters, listed roles passed to ECS only', () => {
    const runners = resources(iam, 'AWS::IAM::Policy')
      .filter(([, p]) =>
        actionsOf((p.Properties.PolicyDocument as { Statement: Statement[] }).Statement).some(
          (a) => a.startsWith('ecs:') || a === 'iam:PassRole',
        ),
      )
      .map(([id]) => id.replace(/Role.*/, ''));
    expect(runners).toEqual(['Launch']);
    const statements = statementsOf(iam, 'Launch') as (Statement & { Condition?: unknown })[];
    const run = statements.find((s) => actionsOf([s]).includes('ecs:RunTask'));
    expect(JSON.stringify(run?.Resource)).toContain(':task-definition/agent:*');
    expect(JSON.stringify(run?.Condition)).toContain(':cluster/agents');
    const pass = statements.find((s) => actionsOf([s]).includes('iam:PassRole'));
    expect(pass?.Resource).toEqual(LAUNCH.passRoles);
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(actionsOf(statements)).not.toContain('secretsmanager:GetSecretValue');
  });

  it('grants no RunTask at all when no launch targets are configured', () => {
    const bare = synth({}, { bundle: false });
    expect(bare.findings).toEqual([]);
    const all = resources(bare, 'AWS::IAM::Policy').flatMap(([, p]) =>
      actionsOf((p.Properties.PolicyDocument as { Statement: Statement[] }).Statement),
    );
    expect(all).not.toContain('ecs:RunTask');
    expect(all).not.toContain('iam:PassRole');
  });

  it('lets the container routes’ function read secrets but never write them', () => {
    const actions = actionsOf(statementsOf(iam, 'Tasks'));
    expect(actions).toContain('secretsmanager:GetSecretValue');
    expect(actions).not.toContain('secretsmanager:PutSecretValue');
    expect(actions).toContain('lambda:InvokeFunction');
  });

  it('uses the KMS key only through Secrets Manager', () => {
    const kms = statementsOf(iam, 'Accounts').find((s) => actionsOf([s]).includes('kms:Decrypt')) as Statement & {
      Condition: unknown;
    };
    expect(kms.Condition).toEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      },
    });
  });

  it('attaches no AWS managed policy', () => {
    for (const [, role] of resources(iam, 'AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('API', () => {
  it('has an authorizer on every non-container route, IAM by default', () => {
    const routes = resources(iam, 'AWS::ApiGatewayV2::Route');
    const open = routes
      .filter(([, r]) => r.Properties.AuthorizationType === 'NONE')
      .map(([, r]) => r.Properties.RouteKey);
    expect(open.sort()).toEqual(CONTAINER_ROUTES);
    for (const [, route] of routes) {
      if (!open.includes(route.Properties.RouteKey)) {
        expect(route.Properties.AuthorizationType, String(route.Properties.RouteKey)).toBe('AWS_IAM');
      }
    }
    expect(routes.map(([, r]) => r.Properties.RouteKey)).toEqual(
      expect.arrayContaining(['GET /v1/providers', 'POST /v1/launches']),
    );
  });

  it('logs access and throttles by default', () => {
    iam.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });
});

describe('storage', () => {
  it('rotates the KMS key', () => {
    iam.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('keeps the table on demand with PITR, TTL on ttl, and deletion protection by default', () => {
    iam.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
    iam.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('follows removal policy and deletion protection from context', () => {
    const dev = synth({ removalPolicy: 'destroy' }, { bundle: false });
    dev.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    dev.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
  });
});

describe('keep-alive and alarms', () => {
  it('invokes the refresh function every 5 minutes through EventBridge Scheduler', () => {
    const refreshId = resources(iam, 'AWS::Lambda::Function').find(([id]) => id.startsWith('Refresh'))?.[0];
    iam.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [refreshId, 'Arn'] } }),
    });
  });

  it('alarms on function errors and refresh failures to an encrypted, TLS-only topic', () => {
    iam.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    iam.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.summary.failed > 0 }' });
    const alarms = resources(iam, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const [, alarm] of alarms)
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
  });

  it('revokes task tokens on ECS task STOPPED events of Keyfleet launches in the listed clusters', () => {
    const stopped = resources(iam, 'AWS::Lambda::Function').find(([id]) => id.startsWith('TaskStopped'))?.[0];
    iam.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: { lastStatus: ['STOPPED'], startedBy: [{ prefix: 'lch_' }], clusterArn: [Match.anyValue()] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [stopped, 'Arn'] } })],
    });
  });

  it('alarms on ticket reuse', () => {
    iam.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.ticketReuse = 1 }' });
  });

  it('outputs the API URL, table name and topic ARN', () => {
    const outputs = Object.keys((iam.json.Outputs ?? {}) as object);
    expect(outputs).toEqual(expect.arrayContaining(['ApiUrl', 'TableName', 'AlarmTopicArn']));
  });
});

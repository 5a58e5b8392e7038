import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { sealingKeyName } from '#shared/vault/seal.ts';
import { type Synthesized, synth } from '#test/helpers/synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let iam: Synthesized;

/** Authenticated by their ticket or task token, not by API Gateway: the route table's container rows. */
const CONTAINER_ROUTES = containerRoutes.map((r) => `${r.method} ${r.path}`).sort();
/** Routes without an authorizer: the container routes, and the public API reference. */
const OPEN_ROUTES = [...CONTAINER_ROUTES, 'GET /v1/openapi.json'].sort();

/** Secret ARNs as a policy resource renders them once pseudo-parameters are flattened. */
const SECRET_ARN = 'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:';
/** A sealing key and an account secret as Secrets Manager names them (random 6-character suffix). */
const SEALING_KEY = `${SECRET_ARN}${sealingKeyName('test')}-Ab12Cd`;
const ACCOUNT_SECRET = `${SECRET_ARN}keyfleet/test/codex/acc_1-Ab12Cd`;

const LAUNCH = {
  clusters: ['agents'],
  taskDefinitionFamilies: ['agent'],
  passRoles: ['arn:aws:iam::111122223333:role/agent-task', 'arn:aws:iam::111122223333:role/agent-exec'],
};

// Bundles all six functions: allow for a busy machine.
beforeAll(() => {
  iam = synth({ launch: JSON.stringify(LAUNCH) });
}, 180_000);
afterAll(() => iam.cleanup());

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

/** A policy resource as one string: `Ref`s become `<Name>`, joins are joined. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: string }).Ref;
  if (ref) return `<${ref}>`;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(flatten).join(join[0]);
  return JSON.stringify(value);
}

/** IAM resource matching: `*` any run of characters, `?` exactly one. */
function iamMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(arn);
}

/** The functions (logical id prefixes) whose policies allow `action` on `arn`. */
function allowedOn(s: Synthesized, action: string, arn: string): string[] {
  const who = new Set<string>();
  for (const [id, policy] of resources(s, 'AWS::IAM::Policy')) {
    for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
      const targets = (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(flatten);
      if (actionsOf([statement]).includes(action) && targets.some((t) => iamMatches(t, arn))) {
        who.add(id.replace(/Role.*/, ''));
      }
    }
  }
  return [...who].sort();
}

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
    // The console's two file routes are open too: the page signs in to the IdP itself.
    const open = [...OPEN_ROUTES, 'GET /', 'GET /console/{proxy+}'];
    for (const [, route] of resources(jwt, 'AWS::ApiGatewayV2::Route')) {
      const key = String(route.Properties.RouteKey);
      expect(route.Properties.AuthorizationType, key).toBe(open.includes(key) ? 'NONE' : 'JWT');
    }
    expect(resources(jwt, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey)).toEqual(
      expect.arrayContaining(['GET /', 'GET /console/{proxy+}']),
    );
    jwt.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KEYFLEET_ADMIN_GROUP: 'platform' }) },
    });
  });

  it('refuses a JWT configuration without issuer and audience', () => {
    expect(() => synth({ auth: 'jwt' }, { bundle: false })).toThrow(/jwtIssuer/);
  });

  it('refuses a console client that is not one of the JWT audiences', () => {
    const context = { auth: 'jwt', jwtIssuer: 'https://idp.example.com/', jwtAudience: 'keyfleet' };
    expect(() => synth({ ...context, consoleClientId: 'other' }, { bundle: false })).toThrow(/consoleClientId/);
  });

  it('has no console routes in an IAM stack (IAM users open it with keyfleet console)', () => {
    const keys = resources(iam, 'AWS::ApiGatewayV2::Route').map(([, r]) => String(r.Properties.RouteKey));
    expect(keys.filter((k) => k === 'GET /' || k.startsWith('GET /console'))).toEqual([]);
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

  it('regression: every function that reads account secrets can also read the sign-in sealing key', () => {
    expect(allowedOn(iam, 'secretsmanager:GetSecretValue', SEALING_KEY)).toEqual(['Accounts']);
    expect(sealingKeyName('test')).toBe('keyfleet-internal/test/sealing-key');
    expect(allowedOn(iam, 'secretsmanager:CreateSecret', SEALING_KEY)).toEqual(['Accounts']);
    for (const action of ['secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret']) {
      expect(allowedOn(iam, action, SEALING_KEY), action).toEqual([]);
    }
    const otherInternal = `${SECRET_ARN}keyfleet-internal/test/other-Ab12Cd`;
    const otherStage = `${SECRET_ARN}keyfleet-internal/prod/sealing-key-Ab12Cd`;
    expect(allowedOn(iam, 'secretsmanager:GetSecretValue', otherInternal)).toEqual([]);
    expect(allowedOn(iam, 'secretsmanager:GetSecretValue', otherStage)).toEqual([]);
  });

  it('lets the accounts, refresh, tasks and helpers functions read account secrets of their stage only', () => {
    expect(allowedOn(iam, 'secretsmanager:GetSecretValue', ACCOUNT_SECRET)).toEqual([
      'Accounts',
      'Helpers',
      'Refresh',
      'Tasks',
    ]);
    const otherStage = `${SECRET_ARN}keyfleet/prod/codex/acc_1-Ab12Cd`;
    expect(allowedOn(iam, 'secretsmanager:GetSecretValue', otherStage)).toEqual([]);
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

describe('identity', () => {
  it('sets the admin principals and person roles from context on every function', () => {
    const roles = synth(
      {
        adminPrincipals: 'arn:aws:iam::111122223333:role/PlatformAdmin',
        personRoles: '["SamlEngineers", "arn:aws:iam::111122223333:role/federation/SamlOps"]',
      },
      { bundle: false },
    );
    const functions = resources(roles, 'AWS::Lambda::Function');
    expect(functions.length).toBe(6);
    for (const [id, fn] of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.KEYFLEET_PERSON_ROLES, id).toBe(
        'SamlEngineers,arn:aws:iam::111122223333:role/federation/SamlOps',
      );
      expect(variables.KEYFLEET_ADMIN_PRINCIPALS, id).toBe('arn:aws:iam::111122223333:role/PlatformAdmin');
    }
  });

  it('lists no person role by default', () => {
    for (const [, fn] of resources(iam, 'AWS::Lambda::Function')) {
      expect(
        (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.KEYFLEET_PERSON_ROLES,
      ).toBe('');
    }
  });

  it('refuses a person role that is neither a role name nor a role ARN', () => {
    expect(() => synth({ personRoles: 'Good,arn:aws:iam::1:user/bob' }, { bundle: false })).toThrow(
      'context "personRoles" must list role names or role ARNs; not: arn:aws:iam::1:user/bob',
    );
  });
});

/** Every resource's dependencies: DependsOn, Ref and Fn::GetAtt on other resources. */
function dependencyGraph(json: Record<string, unknown>): Map<string, Set<string>> {
  const all = (json.Resources ?? {}) as Record<string, { DependsOn?: string | string[] }>;
  const graph = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(all)) {
    const edges = new Set<string>([resource.DependsOn ?? []].flat());
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        const ref = (value as { Ref?: unknown }).Ref;
        const getAtt = (value as { 'Fn::GetAtt'?: unknown[] })['Fn::GetAtt'];
        if (typeof ref === 'string' && ref in all) edges.add(ref);
        if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[0] in all) edges.add(getAtt[0]);
        Object.values(value).forEach(walk);
      }
    };
    walk(resource);
    graph.set(id, edges);
  }
  return graph;
}

function hasCycle(graph: Map<string, Set<string>>): boolean {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'open') return true;
    state.set(id, 'open');
    for (const next of graph.get(id) ?? []) if (visit(next)) return true;
    state.set(id, 'done');
    return false;
  };
  return [...graph.keys()].some(visit);
}

describe('API', () => {
  it('has an authorizer on every route but the container routes and the API reference, IAM by default', () => {
    const routes = resources(iam, 'AWS::ApiGatewayV2::Route');
    const open = routes
      .filter(([, r]) => r.Properties.AuthorizationType === 'NONE')
      .map(([, r]) => r.Properties.RouteKey);
    expect(open.sort()).toEqual(OPEN_ROUTES);
    for (const [, route] of routes) {
      if (!open.includes(route.Properties.RouteKey)) {
        expect(route.Properties.AuthorizationType, String(route.Properties.RouteKey)).toBe('AWS_IAM');
      }
    }
    expect(routes.map(([, r]) => r.Properties.RouteKey)).toEqual(
      expect.arrayContaining(['GET /v1/providers', 'POST /v1/launches']),
    );
  });

  it('gives each container route a throttle of its own, 20 rps with bursts of 40 by default', () => {
    expect(CONTAINER_ROUTES).toEqual(
      expect.arrayContaining(['GET /v1/tasks/token', 'POST /v1/oauth/codex/token', 'POST /v1/tickets/redeem']),
    );
    const [, stage] = resources(iam, 'AWS::ApiGatewayV2::Stage')[0] ?? [];
    expect(stage?.Properties.RouteSettings).toEqual(
      Object.fromEntries(CONTAINER_ROUTES.map((key) => [key, { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }])),
    );
    expect(stage?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });

  it('takes the container routes’ throttle from context, apart from the stage’s', () => {
    const tuned = synth(
      { containerThrottle: '{"rateLimit": 5, "burstLimit": 7}', throttle: '{"rateLimit": 80, "burstLimit": 160}' },
      { bundle: false },
    );
    const [, stage] = resources(tuned, 'AWS::ApiGatewayV2::Stage')[0] ?? [];
    expect(stage?.Properties.RouteSettings).toEqual(
      Object.fromEntries(CONTAINER_ROUTES.map((key) => [key, { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 }])),
    );
    expect(stage?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 80, ThrottlingBurstLimit: 160 });
    expect(() => synth({ containerThrottle: '{"rateLimit": 0}' }, { bundle: false })).toThrow(
      'context "containerThrottle.rateLimit" must be a whole number from 1 to 10000',
    );
  });

  it('creates the stage after the container routes its settings name, with no dependency cycle', () => {
    const [stageId] = resources(iam, 'AWS::ApiGatewayV2::Stage')[0] ?? [];
    const graph = dependencyGraph(iam.json);
    const routeIds = resources(iam, 'AWS::ApiGatewayV2::Route')
      .filter(([, r]) => CONTAINER_ROUTES.includes(String(r.Properties.RouteKey)))
      .map(([id]) => id);
    expect(routeIds.length).toBe(CONTAINER_ROUTES.length);
    for (const id of routeIds) expect(graph.get(String(stageId))?.has(id), id).toBe(true);
    expect(hasCycle(graph)).toBe(false);
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

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Console } from '#infra/constructs/console.ts';

/** The console construct on an API whose other routes are IAM-authorized, synthesised without bundling. */
function synthConsole(props: { auth: 'iam' | 'jwt'; issuer?: string; clientId?: string }) {
  const outdir = mkdtempSync(join(tmpdir(), 'kf-console-cdk-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'ConsoleTest');
    const api = new HttpApi(stack, 'Api', { defaultAuthorizer: new HttpIamAuthorizer(), createDefaultStage: false });
    new Console(stack, 'Console', { api, removalPolicy: RemovalPolicy.DESTROY, ...props });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    const json = JSON.parse(readFileSync(join(outdir, 'ConsoleTest.template.json'), 'utf8')) as Record<string, unknown>;
    return { template: Template.fromJSON(json), violations: report.pluginReports.flatMap((p) => p.violations) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('infra/constructs/console.ts', () => {
  it('adds only GET / and GET /console/{proxy+} without an authorizer, and cdk-nag finds nothing', () => {
    const { template, violations } = synthConsole({
      auth: 'jwt',
      issuer: 'https://id.example.com',
      clientId: 'console-app',
    });
    expect(violations).toEqual([]);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string; AuthorizationType: string } }).Properties,
    );
    expect(routes.map((r) => [r.RouteKey, r.AuthorizationType]).sort()).toEqual([
      ['GET /', 'NONE'],
      ['GET /console/{proxy+}', 'NONE'],
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Keyfleet web console files',
      Environment: {
        Variables: {
          KEYFLEET_CONSOLE_AUTH: 'jwt',
          KEYFLEET_CONSOLE_ISSUER: 'https://id.example.com',
          KEYFLEET_CONSOLE_CLIENT_ID: 'console-app',
        },
      },
    });
  });

  it('refuses the JWT option without an issuer and a client id', () => {
    expect(() => synthConsole({ auth: 'jwt', issuer: 'https://id.example.com' })).toThrow(/issuer and a clientId/);
  });
});

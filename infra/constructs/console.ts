import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod, HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ConsoleProps {
  api: HttpApi;
  /** `jwt`: the page signs in to `issuer` with authorization code + PKCE as `clientId`. */
  auth: 'iam' | 'jwt';
  issuer?: string;
  /** The OpenID provider's public (no secret) app client, with `<ApiUrl>/console/callback` as a redirect URI. */
  clientId?: string;
  scopes?: string[];
  /** More origins the page may call (e.g. a Cognito hosted-UI domain whose token endpoint differs from the issuer). */
  connectSrc?: string[];
  logRetention?: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/** What the console function tells the page (`/console/config.json`): the sign-in and its IdP. */
function consoleEnvironment(props: ConsoleProps): Record<string, string> {
  return {
    KEYFLEET_CONSOLE_AUTH: props.auth,
    ...(props.issuer ? { KEYFLEET_CONSOLE_ISSUER: props.issuer } : {}),
    ...(props.clientId ? { KEYFLEET_CONSOLE_CLIENT_ID: props.clientId } : {}),
    ...(props.scopes ? { KEYFLEET_CONSOLE_SCOPES: props.scopes.join(' ') } : {}),
    ...(props.connectSrc ? { KEYFLEET_CONSOLE_CONNECT_SRC: props.connectSrc.join(',') } : {}),
  };
}

/** One ESM file for the function; the page, script and style sheet are written beside it after bundling. */
const CONSOLE_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  minify: true,
  externalModules: [],
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => [
      `cd "${inputDir}" && node --import tsx web/write.ts "${outputDir}/console"`,
    ],
  },
};

/**
 * The web console on the stack's HTTP API: a small function serving the page, script and style
 * sheet at `GET /` and `GET /console/{proxy+}` without an authorizer (the files hold no secret;
 * the API routes the page calls keep theirs). The files are built by esbuild during bundling and
 * shipped in the function's `console/` folder. With IAM auth the page only points to the CLI.
 */
export class Console extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    if (props.auth === 'jwt' && (!props.issuer || !props.clientId)) {
      throw new Error('the console with JWT auth needs an issuer and a clientId');
    }
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Keyfleet console function',
    });
    logGroup.grantWrite(role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'functions', 'console.ts'),
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      handler: 'handler',
      description: 'Keyfleet web console files',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      role,
      logGroup,
      environment: consoleEnvironment(props),
      bundling: CONSOLE_BUNDLING,
    });
    this.addPublicRoutes(props.api);
  }

  /** `GET /` and `GET /console/{proxy+}` to the function, without an authorizer. */
  private addPublicRoutes(api: HttpApi): void {
    const integration = new HttpLambdaIntegration('ConsoleIntegration', this.fn);
    for (const path of ['/', '/console/{proxy+}']) {
      const [route] = api.addRoutes({
        path,
        methods: [HttpMethod.GET],
        integration,
        authorizer: new HttpNoneAuthorizer(),
      });
      if (route) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `GET ${path} serves the console's static page, script and style sheet, which hold no secret; every API route the page calls keeps its authorizer.`,
        });
      }
    }
  }
}

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import { sealingKeyName } from '#shared/vault/seal.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** CloudWatch only accepts these retention periods; a requested one is rounded up to the next. */
const RETENTIONS = Object.values(RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v > 0)
  .sort((a, b) => a - b);

function retention(days: number): RetentionDays {
  return (RETENTIONS.find((r) => r >= days) ?? RETENTIONS.at(-1)) as RetentionDays;
}

export interface KeyfleetFunctionProps {
  /** `functions/<name>.ts`. */
  name: string;
  description: string;
  environment: Record<string, string>;
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
  timeout?: Duration;
  memorySize?: number;
  /**
   * Files the function reads at run time rather than bundles, by their name beside `index.mjs` →
   * their path in the repository (e.g. the API reference, read on its first request).
   */
  files?: Readonly<Record<string, string>>;
}

/**
 * The esbuild settings of every function bundle, in one place so that `npm run bench` builds
 * exactly what a deploy ships. The SDK stays inside the bundle (pinned, and one file loads faster
 * than the runtime's copy spread over node_modules); `target` is the runtime's Node version
 * (`Runtime.NODEJS_24_X` below). Source maps keep file and line in stack traces; their sources'
 * text is left out, which makes the map (parsed at start under `--enable-source-maps`) a third
 * of the size. esbuild tree-shakes whenever it bundles.
 */
export const FUNCTION_BUNDLE = {
  format: 'esm',
  target: 'node24',
  platform: 'node',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  external: [] as string[],
  banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
} as const;

/**
 * {@link FUNCTION_BUNDLE} as esbuild API options for `entry`, written to `outfile`, with the
 * metafile (what each input contributes) that the bench reads; CDK runs the same settings
 * through the esbuild command line.
 */
export function functionBuildOptions(entry: string, outfile: string): BuildOptions {
  const { banner, ...rest } = FUNCTION_BUNDLE;
  return {
    ...rest,
    mainFields: [...rest.mainFields],
    external: [...rest.external],
    entryPoints: [entry],
    outfile,
    bundle: true,
    treeShaking: true,
    metafile: true,
    banner: { js: banner },
    logLevel: 'error',
  };
}

/** Bundling hooks that copy `files` (name in the asset → path in the repository) beside the bundle. */
function copyFiles(files: Readonly<Record<string, string>>): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) =>
      Object.entries(files).map(([name, source]) => `cp "${join(inputDir, source)}" "${join(outputDir, name)}"`),
  };
}

/** Secrets Manager actions by need. */
const VAULT_ACTIONS = {
  read: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  /** Refresh: new versions of existing secrets only. */
  rotate: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
  /** Accounts: the whole life of a secret. */
  manage: [
    'secretsmanager:GetSecretValue',
    'secretsmanager:DescribeSecret',
    'secretsmanager:PutSecretValue',
    'secretsmanager:CreateSecret',
    'secretsmanager:DeleteSecret',
    'secretsmanager:TagResource',
  ],
} as const;

/** Sign-in's sealing key: read it, or create it (tagged) on first use; never write or delete it. */
const SEALING_KEY_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
] as const;

const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  write: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
} as const;

/**
 * Every Keyfleet function is one of these: the newest Node.js runtime aws-cdk-lib offers, arm64,
 * an ESM bundle with the AWS SDK inside (pinned, and faster to load than the runtime's copy),
 * minified with source maps, its own log group with retention, and its own role with nothing on it
 * until a `bind…` call adds an environment variable together with the permission that goes with it.
 */
export class KeyfleetFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: KeyfleetFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: retention(props.logRetentionDays),
      removalPolicy: props.removalPolicy,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Keyfleet ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'functions', `${props.name}.ts`),
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(29),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `keyfleet-${props.name}`,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: FUNCTION_BUNDLE.target,
        minify: FUNCTION_BUNDLE.minify,
        sourceMap: FUNCTION_BUNDLE.sourcemap,
        sourcesContent: FUNCTION_BUNDLE.sourcesContent,
        mainFields: [...FUNCTION_BUNDLE.mainFields],
        externalModules: [...FUNCTION_BUNDLE.external],
        banner: FUNCTION_BUNDLE.banner,
        ...(props.files ? { commandHooks: copyFiles(props.files) } : {}),
      },
    });
  }

  /** The table's name, and the item actions for `access` on that table only (no index wildcard). */
  bindTable(table: ITableV2, access: keyof typeof TABLE_ACTIONS): this {
    this.fn.addEnvironment('KEYFLEET_TABLE_NAME', table.tableName);
    this.role.addToPolicy(new PolicyStatement({ actions: [...TABLE_ACTIONS[access]], resources: [table.tableArn] }));
    return this;
  }

  /**
   * The vault: account secrets named `keyfleet/<stage>/…` only, and the KMS key that encrypts
   * them (through Secrets Manager only). Internal secrets live under `keyfleet-internal/<stage>/`,
   * which this grant does not reach.
   */
  bindVault(stage: string, key: IKey, access: keyof typeof VAULT_ACTIONS): this {
    this.fn.addEnvironment('KEYFLEET_STAGE', stage);
    this.fn.addEnvironment('KEYFLEET_KMS_KEY_ID', key.keyArn);
    this.role.addToPolicy(
      new PolicyStatement({ actions: [...VAULT_ACTIONS[access]], resources: [this.secretArn(`keyfleet/${stage}/*`)] }),
    );
    this.grantKey(key, access === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey']);
    return this;
  }

  /**
   * Sign-in's sealing key (`keyfleet-internal/<stage>/sealing-key`): only the function that seals
   * and unseals sign-in state gets it. `-??????` is the suffix Secrets Manager adds to every
   * secret ARN, so the grant names this one secret and no other.
   */
  bindSealingKey(stage: string, key: IKey): this {
    this.fn.addEnvironment('KEYFLEET_STAGE', stage);
    this.fn.addEnvironment('KEYFLEET_KMS_KEY_ID', key.keyArn);
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [...SEALING_KEY_ACTIONS],
        resources: [this.secretArn(`${sealingKeyName(stage)}-??????`)],
      }),
    );
    this.grantKey(key, ['kms:Decrypt', 'kms:GenerateDataKey']);
    return this;
  }

  /** Lets this function ask the refresh function to refresh a token (it may not write secrets itself). */
  bindRefresher(refresher: KeyfleetFunction): this {
    this.fn.addEnvironment('KEYFLEET_REFRESH_FUNCTION_NAME', refresher.fn.functionName);
    this.role.addToPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [refresher.fn.functionArn] }),
    );
    return this;
  }

  private secretArn(resourceName: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The stack's key, through Secrets Manager only; one statement per set of actions. */
  private grantKey(key: IKey, actions: string[]): void {
    const region = Stack.of(this).region;
    this.role.addToPolicy(
      new PolicyStatement({
        actions,
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
      }),
    );
  }

  /** Any other setting, without a permission. */
  setEnvironment(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }
}

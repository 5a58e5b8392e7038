import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { FilterPattern } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import { routes as accountsRoutes } from '#functions/accounts.ts';
import { Alarms } from '#infra/constructs/alarms.ts';
import { Api } from '#infra/constructs/api.ts';
import { Console } from '#infra/constructs/console.ts';
import { KeyfleetFunction } from '#infra/constructs/keyfleet-function.ts';
import { Launcher } from '#infra/constructs/launcher.ts';
import { Store } from '#infra/constructs/store.ts';
import type { KeyfleetContext } from '#infra/context.ts';
import { helperRoutes } from '#shared/helpers/routes.ts';
import { REFERENCE_FILES } from '#shared/http/reference.ts';
import { containerRoutes } from '#shared/launch/container-routes.ts';
import { launchRoutes } from '#shared/launch/routes.ts';

export interface KeyfleetStackProps extends StackProps {
  context: KeyfleetContext;
}

/** The Lambda functions of the stack, by the job each does. */
interface Functions {
  accounts: KeyfleetFunction;
  refresh: KeyfleetFunction;
  launch: KeyfleetFunction;
  tasks: KeyfleetFunction;
  stopped: KeyfleetFunction;
  helpers: KeyfleetFunction;
}

/** What every function is built from. */
interface FunctionParts {
  context: KeyfleetContext;
  store: Store;
  api: Api;
  common: Record<string, string>;
  functionProps: { logRetentionDays: number; removalPolicy: RemovalPolicy };
}

/** All of Keyfleet in one stack: store, API, keep-alive, launches, alarms. */
export class KeyfleetStack extends Stack {
  constructor(scope: Construct, id: string, props: KeyfleetStackProps) {
    super(scope, id, props);
    const { context } = props;
    const removalPolicy = context.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const store = new Store(this, 'Store', { removalPolicy, deletionProtection: context.deletionProtection });
    const api = new Api(this, 'Api', { context, removalPolicy });
    const alarms = new Alarms(this, 'Alarms', { key: store.key, email: context.alarmEmail });
    const functions = this.addFunctions(context, removalPolicy, store, api);
    const sweep = this.addKeepAliveSchedule(functions.refresh);
    this.addConsole(context, api, removalPolicy);
    this.addAlarms(alarms, functions);
    this.acknowledgeNagFindings(context, functions, sweep);

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Keyfleet API base URL' });
    new CfnOutput(this, 'TableName', { value: store.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });
  }

  /** One function per job, each bound to exactly the table, vault and refresher access it needs. */
  private addFunctions(context: KeyfleetContext, removalPolicy: RemovalPolicy, store: Store, api: Api): Functions {
    const parts: FunctionParts = {
      context,
      store,
      api,
      common: {
        KEYFLEET_ADMIN_PRINCIPALS: context.adminPrincipals.join(','),
        KEYFLEET_PERSON_ROLES: context.personRoles.join(','),
        KEYFLEET_GROUPS_CLAIM: context.groupsClaim,
        KEYFLEET_ADMIN_GROUP: context.adminGroup,
        ...(context.providerOverrides
          ? { KEYFLEET_PROVIDER_OVERRIDES: JSON.stringify(context.providerOverrides) }
          : {}),
      },
      functionProps: { logRetentionDays: context.logRetentionDays, removalPolicy },
    };
    const { accounts, refresh } = this.addSecretWriters(parts);
    const { launch, tasks, stopped } = this.addLaunchFunctions(parts, refresh);
    const helpers = this.addHelpers(parts);
    return { accounts, refresh, launch, tasks, stopped, helpers };
  }

  /** The two functions that write secrets: sign-in and accounts, and the keep-alive sweeper. */
  private addSecretWriters({ context, store, api, common, functionProps }: FunctionParts) {
    // Sign-in, accounts, settings, audit, finance: writes secrets, never runs tasks. The only
    // function that seals and unseals sign-in state, so the only one with the sealing key.
    const accounts = new KeyfleetFunction(this, 'Accounts', {
      name: 'accounts',
      description: 'Keyfleet sign-in, account, settings, audit and finance routes',
      environment: common,
      ...functionProps,
    })
      .bindTable(store.table, 'write')
      .bindVault(context.stage, store.key, 'manage')
      .bindSealingKey(context.stage, store.key);
    api.addFunctionRoutes(accounts, accountsRoutes);

    const refresh = new KeyfleetFunction(this, 'Refresh', {
      name: 'refresh',
      description: 'Keyfleet keep-alive sweeper: refreshes OAuth tokens that are due',
      environment: common,
      timeout: Duration.minutes(5),
      ...functionProps,
    })
      .bindTable(store.table, 'write')
      .bindVault(context.stage, store.key, 'rotate');
    // The Test action's forced refresh runs there too, so it finishes even if the request times out.
    accounts.bindRefresher(refresh);
    return { accounts, refresh };
  }

  /** Launches, the container routes and the task-stopped handler, with the ECS side in `Launcher`. */
  private addLaunchFunctions({ context, store, api, common, functionProps }: FunctionParts, refresh: KeyfleetFunction) {
    // Launches: choose the account, run the task. Reads metadata, never a secret; asks the
    // refresh function for fresh tokens.
    const launch = new KeyfleetFunction(this, 'Launch', {
      name: 'launch',
      description: 'Keyfleet task launches, preferences and environments',
      environment: { ...common, KEYFLEET_API_URL: api.url },
      ...functionProps,
    })
      .bindTable(store.table, 'write')
      .bindRefresher(refresh);
    api.addFunctionRoutes(launch, launchRoutes);

    // Container side: ticket redemption and task-token routes. Reads secrets, never writes them.
    const tasks = new KeyfleetFunction(this, 'Tasks', {
      name: 'tasks',
      description: 'Keyfleet container routes: ticket redemption, task tokens, Codex refresh',
      environment: { ...common, KEYFLEET_API_URL: api.url },
      ...functionProps,
    })
      .bindTable(store.table, 'write')
      .bindVault(context.stage, store.key, 'read')
      .bindRefresher(refresh);
    api.addFunctionRoutes(tasks, containerRoutes);

    const stopped = new KeyfleetFunction(this, 'TaskStopped', {
      name: 'task-stopped',
      description: 'Keyfleet: revokes a launch’s task token when its ECS task stops',
      environment: common,
      ...functionProps,
    }).bindTable(store.table, 'write');
    new Launcher(this, 'Launcher', { launch, stopped, context });
    return { launch, tasks, stopped };
  }

  /** Helpers: task names and commit messages with the default agent's API key. Reads secrets only. */
  private addHelpers({ context, store, api, common, functionProps }: FunctionParts): KeyfleetFunction {
    const helpers = new KeyfleetFunction(this, 'Helpers', {
      name: 'helpers',
      description: 'Keyfleet helpers: task names and commit messages',
      environment: common,
      // The API reference it serves is read beside the bundle, not bundled (see shared/http/reference.ts).
      files: REFERENCE_FILES,
      ...functionProps,
    })
      .bindTable(store.table, 'read')
      .bindVault(context.stage, store.key, 'read');
    api.addFunctionRoutes(helpers, helperRoutes);
    return helpers;
  }

  /** Runs the keep-alive sweeper every five minutes. */
  private addKeepAliveSchedule(refresh: KeyfleetFunction): Schedule {
    return new Schedule(this, 'KeepAliveSchedule', {
      description: 'Keyfleet keep-alive sweep',
      schedule: ScheduleExpression.rate(Duration.minutes(5)),
      target: new LambdaInvoke(refresh.fn, { retryAttempts: 0 }),
    });
  }

  /** The web console, for stacks whose people sign in with JWTs; IAM stacks use `keyfleet console`. */
  private addConsole(context: KeyfleetContext, api: Api, removalPolicy: RemovalPolicy): void {
    if (context.auth !== 'jwt' || !context.console) return;
    new Console(this, 'Console', {
      api: api.api,
      auth: 'jwt',
      issuer: context.jwtIssuer,
      clientId: context.console.clientId,
      connectSrc: context.console.connectSrc,
      removalPolicy,
    });
  }

  /** Errors on every function, a reused launch ticket and a sweep that could not refresh an account. */
  private addAlarms(alarms: Alarms, functions: Functions): void {
    for (const fn of Object.values(functions)) alarms.functionErrors(fn);
    alarms.logAlarm(
      'TicketReuse',
      functions.tasks.logGroup,
      FilterPattern.numberValue('$.ticketReuse', '=', 1),
      'A launch ticket was presented twice: it may have leaked from the task definition or logs.',
    );
    alarms.logAlarm(
      'RefreshFailures',
      functions.refresh.logGroup,
      FilterPattern.numberValue('$.summary.failed', '>', 0),
      'A keep-alive sweep could not refresh at least one account; see the accounts’ lastError.',
    );
  }

  /** The cdk-nag findings that are deliberate, each with its reason. */
  private acknowledgeNagFindings(context: KeyfleetContext, functions: Functions, sweep: Schedule): void {
    const { accounts, refresh, tasks, helpers } = functions;
    for (const fn of [accounts, refresh, tasks, helpers]) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:keyfleet/${context.stage}/*]`,
        reason:
          'Secrets are created at run time, one per account, so their names are not known at deploy time; access is limited to this stage’s keyfleet/<stage>/ prefix.',
      });
    }
    // The scheduler's role may invoke the sweeper and its versions (`<arn>:*`, added by grantInvoke).
    const sweeperId = this.getLogicalId(refresh.fn.node.defaultChild as CfnElement);
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${sweeperId}.Arn>:*]`,
      reason: `The keep-alive schedule (${sweep.node.path}) may invoke only the refresh function; the :* covers that function's own versions and aliases.`,
    });
  }
}

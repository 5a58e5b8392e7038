import { Stack, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { KeyfleetFunction } from '#infra/constructs/keyfleet-function.ts';
import type { KeyfleetContext } from '#infra/context.ts';

/**
 * What launches may touch: RunTask only for the listed task-definition families on the listed
 * clusters, PassRole only for the listed roles and only to ECS tasks; and the rule that revokes a
 * launch's task token when its task stops.
 */
export class Launcher extends Construct {
  readonly clusterArns: string[];

  constructor(
    scope: Construct,
    id: string,
    props: { launch: KeyfleetFunction; stopped: KeyfleetFunction; context: KeyfleetContext },
  ) {
    super(scope, id);
    const stack = Stack.of(this);
    const { clusters, taskDefinitionFamilies, passRoles } = props.context.launch;
    this.clusterArns = clusters.map((c) =>
      c.startsWith('arn:') ? c : stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: c }),
    );
    const launch = props.launch;
    launch.setEnvironment('KEYFLEET_LAUNCH_CLUSTERS', this.clusterArns.join(','));
    launch.setEnvironment('KEYFLEET_LAUNCH_TASK_FAMILIES', taskDefinitionFamilies.join(','));

    if (this.clusterArns.length > 0 && taskDefinitionFamilies.length > 0) {
      launch.role.addToPolicy(
        new PolicyStatement({
          actions: ['ecs:RunTask'],
          resources: taskDefinitionFamilies.map((family) =>
            stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${family}:*` }),
          ),
          conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
        }),
      );
      launch.role.addToPolicy(
        new PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: this.clusterArns.map((arn) => `${arn.replace(':cluster/', ':task/')}/*`),
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
      );
      // cdk-nag names each wildcard resource as rendered in the template.
      const rendered = (resource: string) => `arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:${resource}`;
      for (const family of taskDefinitionFamilies) {
        Validations.of(launch.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${rendered(`task-definition/${family}:*`)}]`,
          reason: `RunTask may start any revision of the "${family}" task-definition family (hence :*), and only on the listed clusters (ecs:cluster condition).`,
        });
      }
      clusters.forEach((cluster, i) => {
        const tasks = cluster.startsWith('arn:')
          ? `${this.clusterArns[i]?.replace(':cluster/', ':task/')}/*`
          : rendered(`task/${cluster}/*`);
        Validations.of(launch.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${tasks}]`,
          reason:
            'Tags may be set only on tasks that RunTask creates (ecs:CreateAction condition) in this cluster; task ids are not known in advance.',
        });
      });
    }
    if (passRoles.length > 0) {
      launch.role.addToPolicy(
        new PolicyStatement({
          actions: ['iam:PassRole'],
          resources: passRoles,
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        }),
      );
    }

    new Rule(this, 'TaskStopped', {
      description: 'Keyfleet: revoke the task token of a launch whose ECS task stopped',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          lastStatus: ['STOPPED'],
          startedBy: [{ prefix: 'lch_' }],
          ...(this.clusterArns.length > 0 ? { clusterArn: this.clusterArns } : {}),
        },
      },
      targets: [new LambdaFunction(props.stopped.fn, { retryAttempts: 4 })],
    });
  }
}

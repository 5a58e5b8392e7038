import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { KeyfleetFunction } from '#infra/constructs/keyfleet-function.ts';

/** The alarm topic (encrypted, TLS only) and the alarms that publish to it. */
export class Alarms extends Construct {
  readonly topic: Topic;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: { key: IKey; email: string | undefined }) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', { displayName: 'Keyfleet alarms', masterKey: props.key, enforceSSL: true });
    // CloudWatch publishes to the encrypted topic, so it may use the key for that.
    props.key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
    this.action = new SnsAction(this.topic);
  }

  /** Any error of the function within 5 minutes. */
  functionErrors(fn: KeyfleetFunction): void {
    const alarm = new Alarm(this, `${fn.node.id}Errors`, {
      alarmDescription: `The Keyfleet ${fn.node.id} function failed.`,
      metric: fn.fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
  }

  /** A count of matching JSON log lines, alarmed at the first one. */
  logAlarm(
    id: string,
    logGroup: ILogGroup,
    pattern: ReturnType<typeof FilterPattern.numberValue>,
    description: string,
  ): void {
    const filter = new MetricFilter(this, `${id}Filter`, {
      logGroup,
      filterPattern: pattern,
      metricNamespace: 'Keyfleet',
      metricName: id,
      metricValue: '1',
      defaultValue: 0,
    });
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric: filter.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
  }
}

import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_DEFINITION } from '#infra/table-definition.ts';

export interface StoreProps {
  removalPolicy: RemovalPolicy;
  deletionProtection: boolean;
}

/** The KMS key (rotation on) for secrets and the alarm topic, and the single table. */
export class Store extends Construct {
  readonly key: Key;
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: StoreProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Keyfleet: account credentials in Secrets Manager, alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_DEFINITION.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_DEFINITION.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: TABLE_DEFINITION.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
      // The table holds metadata only (no token, key or verifier in clear), so DynamoDB's own
      // encryption at rest suffices, and the stack stays region-agnostic for offline synth.
    });
  }
}

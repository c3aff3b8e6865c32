import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, type TableProps } from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";

/**
 * A single-table (pk, sk) table with the defaults Spool uses for records of truth: on-demand,
 * point-in-time recovery, kept when the stack is deleted (but deleted when a first deploy rolls
 * back, so the retry does not find it in the way).
 */
export function stateTable(scope: Construct, id: string, extra: Partial<TableProps> = {}): Table {
  return new Table(scope, id, {
    partitionKey: { name: "pk", type: AttributeType.STRING },
    sortKey: { name: "sk", type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    ...extra,
  });
}

import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface TenantFairProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/**
 * The quota the emulator test holds each tenant to. At least the quiet tenant's burst (20), so
 * none of its records is deferred; small against the noisy tenant's backlog, so that tenant
 * never occupies more than 25 of the 100 records the consumer can hold at once.
 */
export const TENANT_FAIR = { maxInFlightPerTenant: 25, maxConcurrency: 10 } as const;

/**
 * Test hooks only: a consumer that holds each tenant to 25 records in flight, so the suite can
 * flood it with one tenant's messages and watch another tenant's few get through while the
 * flood's backlog is still there, with nothing dead-lettered or run twice.
 */
export class TenantFair extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: TenantFairProps) {
    super(scope, id);
    // Three times the suite's usual 5 s: the test's steps take seconds on purpose (they hold the
    // tenant's slots), and a loaded machine must not push them past a short function's deadline.
    const timeout = Duration.seconds(props.consumerTimeout.toSeconds() * 3);
    this.queue = new ReliableQueue(this, "Queue", {
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
    });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("tenant-fairness/handler.ts"),
      consumerName: "tenant-fair",
      idempotencyTable: props.idempotencyTable.table,
      timeout,
      backoff: props.backoff,
      maxConcurrency: TENANT_FAIR.maxConcurrency,
      tenantFairness: {
        maxInFlightPerTenant: TENANT_FAIR.maxInFlightPerTenant,
        retryAfter: Duration.seconds(1),
      },
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:UpdateItem");

    new CfnOutput(scope, "TenantFairQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "TenantFairDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "TenantFairFunctionName", {
      value: this.consumer.function.functionName,
    });
  }
}

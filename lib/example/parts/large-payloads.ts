import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { PayloadStore } from "../../spool/payload-store/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface LargePayloadsProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/**
 * Test hooks only: a consumer with a PayloadStore, so the suite can send a body too large for
 * SQS through the producer helper (offloaded to the store) and watch the step get it whole, and
 * send a pointer that cannot resolve and watch it dead-lettered at once. The step records a hash
 * of the body it was given in the effects table.
 */
export class LargePayloads extends Construct {
  readonly queue: ReliableQueue;
  readonly store: PayloadStore;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: LargePayloadsProps) {
    super(scope, id);
    this.queue = new ReliableQueue(this, "Queue", {
      // The consumer's floor: six times its timeout.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    });
    this.store = new PayloadStore(this, "Store", { queues: [this.queue] });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("large-payloads/handler.ts"),
      consumerName: "large-payloads",
      idempotencyTable: props.idempotencyTable.table,
      payloadStore: this.store,
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:UpdateItem");

    new CfnOutput(scope, "LargePayloadsQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "LargePayloadsDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "LargePayloadsBucketName", { value: this.store.bucketName });
  }
}

import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface RateLimitedProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/** The rate the emulator test holds the consumer to: 5 records a second, 5 at once. */
export const RATE_LIMITED = { perSecond: 5, burst: 5 } as const;

/**
 * Test hooks only: a consumer limited to 5 records a second across its (up to 5) concurrent
 * invocations, so the suite can send a burst and watch the starts it records keep to the rate,
 * with none of the deferred records lost, run twice or dead-lettered.
 */
export class RateLimited extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: RateLimitedProps) {
    super(scope, id);
    this.queue = new ReliableQueue(this, "Queue", {
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 3 * 6),
    });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("rate-limited/handler.ts"),
      consumerName: "rate-limited",
      idempotencyTable: props.idempotencyTable.table,
      // Three times the suite's usual 5 s: this part measures pacing, and a machine running the
      // whole suite at once can stall a step past a short function's deadline (then it is retried
      // after its lease, see record-deadline.ts, which is not what this part is here to show).
      timeout: Duration.seconds(props.consumerTimeout.toSeconds() * 3),
      backoff: props.backoff,
      rateLimit: RATE_LIMITED,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:UpdateItem");

    new CfnOutput(scope, "RateLimitedQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "RateLimitedDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "RateLimitedFunctionName", {
      value: this.consumer.function.functionName,
    });
  }
}

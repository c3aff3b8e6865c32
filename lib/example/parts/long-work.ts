import { Annotations, CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface LongWorkProps {
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly backoff: RetryBackoff;
}

/**
 * Test hooks only: records that outlast their queue's visibility timeout. They run up to 50 s
 * on a queue that hides a received message for 15 s, so only the consumer's heartbeat (every
 * 5 s, by 15 s) keeps a second invocation from running a record the first is still running.
 */
export class LongWork extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: LongWorkProps) {
    super(scope, id);
    this.queue = new ReliableQueue(this, "Queue", { visibilityTimeout: Duration.seconds(15) });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("long-work/handler.ts"),
      consumerName: "long-work",
      timeout: Duration.seconds(60),
      heartbeat: { every: Duration.seconds(5), extendBy: Duration.seconds(15) },
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    Annotations.of(this.consumer).acknowledgeWarning(
      "spool:consumerWithoutIdempotency",
      "counts every execution on purpose: a second run of one record must be visible to the tests",
    );
    props.effectsTable.grant(this.consumer.function, "dynamodb:UpdateItem");

    new CfnOutput(scope, "LongWorkQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "LongWorkFunctionName", { value: this.consumer.function.functionName });
  }
}

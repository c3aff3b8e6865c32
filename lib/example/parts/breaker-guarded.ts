import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { GUARDED_CONSUMER, GUARDED_DEPENDENCY } from "../../../lambdas/breaker-guarded/contract.js";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface BreakerGuardedProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/**
 * Test hooks only: a consumer whose business step calls a dependency through a circuit breaker
 * (lambdas/breaker-guarded), so the suite can turn the dependency off, watch the breaker open and
 * keep calls away from it, see that no record is dead-lettered while it is down, and watch
 * everything drain once when it comes back.
 */
export class BreakerGuarded extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: BreakerGuardedProps) {
    super(scope, id);
    this.queue = new ReliableQueue(this, "Queue", {
      // AWS's guidance for a consumer without a heartbeat: six times the function timeout.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("breaker-guarded/handler.ts"),
      consumerName: GUARDED_CONSUMER,
      idempotencyTable: props.idempotencyTable.table,
      breakers: [GUARDED_DEPENDENCY],
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:UpdateItem");

    new CfnOutput(scope, "BreakerGuardedQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "BreakerGuardedDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "BreakerGuardedFunctionName", {
      value: this.consumer.function.functionName,
    });
  }
}

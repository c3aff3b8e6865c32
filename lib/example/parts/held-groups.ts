import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { HELD_GROUPS_CONSUMER } from "../../../lambdas/held-groups/contract.js";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { QueueConsumer, type RetryBackoff } from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface HeldGroupsProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/**
 * Test hooks only: a FIFO consumer with `holdGroupOnDeadLetter` whose step applies each group's
 * messages strictly in sequence (lambdas/held-groups), and fails a chosen one permanently while
 * the run's switch is on. The suite watches the group held behind its dead letter, the rest
 * parked, and one replay apply it all in order. (The order-events consumer keeps no hold: the
 * chaos check reads its behaviour as it is.)
 */
export class HeldGroups extends Construct {
  readonly queue: ReliableQueue;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: HeldGroupsProps) {
    super(scope, id);
    this.queue = new ReliableQueue(this, "Queue", {
      fifo: true,
      // AWS's guidance for a consumer without a heartbeat: six times the function timeout.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    });
    this.consumer = new QueueConsumer(this, "Consumer", {
      source: this.queue,
      entry: lambdaEntry("held-groups/handler.ts"),
      consumerName: HELD_GROUPS_CONSUMER,
      idempotencyTable: props.idempotencyTable.table,
      holdGroupOnDeadLetter: true,
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    props.effectsTable.grant(this.consumer.function, "dynamodb:GetItem", "dynamodb:UpdateItem");

    new CfnOutput(scope, "HeldGroupsQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(scope, "HeldGroupsDeadLetterQueueUrl", {
      value: this.queue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(scope, "HeldGroupsFunctionName", {
      value: this.consumer.function.functionName,
    });
  }
}

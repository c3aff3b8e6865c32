import { CfnOutput, type Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { PriorityLanes } from "../../spool/priority-lanes/index.js";
import type { RetryBackoff } from "../../spool/queue-consumer/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface LanesProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
}

/** The shares the emulator test relies on: the high lane gets 3 concurrent invocations, low 2. */
export const TEST_LANES = { group: "test-lanes", high: 3, low: 2 } as const;

/**
 * Test hooks only: one kind of work on a high and a low lane, so the suite can queue a low
 * backlog, then a few high messages, and watch the high ones finish while the low backlog has
 * barely moved, and the low lane keep going.
 */
export class Lanes extends Construct {
  readonly lanes: PriorityLanes;

  constructor(scope: Construct, id: string, props: LanesProps) {
    super(scope, id);
    this.lanes = new PriorityLanes(this, "Lanes", {
      name: TEST_LANES.group,
      lanes: [
        { name: "high", maxConcurrency: TEST_LANES.high },
        { name: "low", maxConcurrency: TEST_LANES.low },
      ],
      entry: lambdaEntry("priority-lanes/handler.ts"),
      idempotencyTable: props.idempotencyTable.table,
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    });
    for (const consumer of this.lanes.consumers.values()) {
      props.effectsTable.grant(consumer.function, "dynamodb:UpdateItem");
    }

    new CfnOutput(scope, "LanesHighQueueUrl", {
      value: this.lanes.queueOf("high").queue.queueUrl,
    });
    new CfnOutput(scope, "LanesLowQueueUrl", { value: this.lanes.queueOf("low").queue.queueUrl });
  }
}

import { CfnOutput, Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import {
  QueueConsumer,
  type RateLimit,
  type RetryBackoff,
} from "../../spool/queue-consumer/index.js";
import { ReliableQueue } from "../../spool/reliable-queue/index.js";
import { lambdaEntry } from "../lambda-entry.js";

export interface MessagingProps {
  readonly idempotencyTable: IdempotencyTable;
  readonly effectsTable: Table;
  /** Environment shared by every handler (test hooks in local deployments). */
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
  /**
   * The notification provider's sending rate.
   * @default - none
   */
  readonly notificationsRateLimit?: RateLimit;
}

/**
 * The first slice of the order domain: order events on a FIFO queue (one message group per
 * order, so each order's events apply in order) and notification requests on a standard queue.
 */
export class Messaging extends Construct {
  readonly orders: ReliableQueue;
  readonly notifications: ReliableQueue;
  readonly orderEventsConsumer: QueueConsumer;
  readonly notificationsConsumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    // AWS's guidance for Lambda consumers: visibility timeout at least 6x the function timeout.
    const queueVisibility = Duration.seconds(props.consumerTimeout.toSeconds() * 6);

    this.orders = new ReliableQueue(this, "Orders", {
      fifo: true,
      visibilityTimeout: queueVisibility,
    });
    this.notifications = new ReliableQueue(this, "Notifications", {
      visibilityTimeout: queueVisibility,
    });

    const common = {
      idempotencyTable: props.idempotencyTable.table,
      timeout: props.consumerTimeout,
      backoff: props.backoff,
      environment: { ...props.handlerEnvironment, EFFECTS_TABLE: props.effectsTable.tableName },
    };
    this.orderEventsConsumer = new QueueConsumer(this, "OrderEventsConsumer", {
      ...common,
      source: this.orders,
      entry: lambdaEntry("order-events/handler.ts"),
      consumerName: "order-events",
    });
    props.effectsTable.grant(
      this.orderEventsConsumer.function,
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
    );

    this.notificationsConsumer = new QueueConsumer(this, "NotificationsConsumer", {
      ...common,
      source: this.notifications,
      entry: lambdaEntry("notifications/handler.ts"),
      consumerName: "notifications",
      ...(props.notificationsRateLimit ? { rateLimit: props.notificationsRateLimit } : {}),
    });
    // One transaction: a condition check on the suppression list and the conditional delivery;
    // GetItem reads the delivery record for a request out of attempts (isDone).
    props.effectsTable.grant(
      this.notificationsConsumer.function,
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    for (const [name, queue] of [
      ["Orders", this.orders],
      ["Notifications", this.notifications],
    ] as const) {
      new CfnOutput(scope, `${name}QueueUrl`, { value: queue.queue.queueUrl });
      new CfnOutput(scope, `${name}QueueArn`, { value: queue.queue.queueArn });
      new CfnOutput(scope, `${name}DeadLetterQueueUrl`, { value: queue.deadLetterQueue.queueUrl });
    }
    new CfnOutput(scope, "OrderEventsFunctionName", {
      value: this.orderEventsConsumer.function.functionName,
    });
    new CfnOutput(scope, "NotificationsFunctionName", {
      value: this.notificationsConsumer.function.functionName,
    });
  }
}

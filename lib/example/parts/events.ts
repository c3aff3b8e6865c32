import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { EventBus } from "aws-cdk-lib/aws-events";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { CHECKOUT_KEY_PREFIX } from "../../../lambdas/checkout/contract.js";
import { EventSubscription } from "../../spool/event-subscription/index.js";
import type { IdempotencyTable } from "../../spool/idempotency-table/index.js";
import { PayloadStore } from "../../spool/payload-store/index.js";
import type { RetryBackoff } from "../../spool/queue-consumer/index.js";
import {
  acknowledgeSynchronousInvocation,
  SpoolFunction,
} from "../../spool/spool-function/index.js";
import {
  type EventReplayConfig,
  type EventReplaySubscription,
  TransactionalOutbox,
} from "../../spool/transactional-outbox/index.js";
import { lambdaEntry } from "../lambda-entry.js";
import { stateTable } from "./state-table.js";

export interface EventsProps {
  readonly idempotencyTable: IdempotencyTable;
  /** Where the simulated providers (payments, email, analytics) record their effects. */
  readonly effectsTable: Table;
  /** Environment shared by every handler (test hooks in local deployments). */
  readonly handlerEnvironment: Record<string, string>;
  readonly consumerTimeout: Duration;
  readonly backoff: RetryBackoff;
  /**
   * Whether the stream's event source honours partial batch responses. MiniStack 1.5.33 ignores
   * them for DynamoDB streams (and checkpoints the whole batch), so there the publisher fails
   * the whole batch instead. See docs/emulator-matrix.md.
   */
  readonly streamPartialBatchResponses: boolean;
  /**
   * Whether the outbox archives the published events on the bus (30 days), for
   * `spool events replay`. MiniStack 1.5.33 has no CloudFormation provisioner for
   * `AWS::Events::Archive` and rejects a template declaring one, so there replays re-publish
   * from the outbox table instead. See docs/emulator-matrix.md.
   */
  readonly archiveEvents: boolean;
}

/** The event types the checkout publishes, as the bus rules match them. */
const ORDER_PLACED = { source: ["spool.checkout"], detailType: ["OrderPlaced"] };

/**
 * The order domain's events: a checkout that writes the order and its `OrderPlaced` event in one
 * transaction, the outbox that publishes it to the `orders` bus, and three subscribers, each
 * with its own queue, dead-letter queues and exactly-once boundary. Adding a consumer is one
 * more EventSubscription here; the checkout does not change.
 */
export class Events extends Construct {
  readonly bus: EventBus;
  readonly outbox: TransactionalOutbox;
  readonly orders: Table;
  readonly checkout: SpoolFunction;
  readonly payments: EventSubscription;
  readonly orderConfirmations: EventSubscription;
  readonly analytics: EventSubscription;
  /** Where events too large to publish inline go; the subscriptions resolve their pointers. */
  readonly payloads: PayloadStore;

  constructor(scope: Construct, id: string, props: EventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, "Bus", {
      eventBusName: `${Stack.of(this).stackName}-orders`,
      description: "Spool order domain events",
    });
    // Made before the subscriptions that resolve its pointers, so it names no queues: its
    // default lifecycle (SQS's longest retention twice, plus a 7-day margin: 35 days) outlasts
    // any subscription (EventBridge's 24 h of delivery retries, then at most 14 days on a queue
    // and 14 in a DLQ) and the outbox stream's 24 h before a row is published.
    this.payloads = new PayloadStore(this, "Payloads");
    this.outbox = new TransactionalOutbox(this, "Outbox", {
      eventBus: this.bus,
      payloadStore: this.payloads,
      reportBatchItemFailures: props.streamPartialBatchResponses,
      environment: props.handlerEnvironment,
      ...(props.archiveEvents ? { archiveRetention: Duration.days(30) } : {}),
    });
    this.orders = stateTable(this, "Orders");

    this.checkout = new SpoolFunction(this, "Checkout", {
      entry: lambdaEntry("checkout/handler.ts"),
      timeout: Duration.seconds(10),
      environment: {
        ...props.handlerEnvironment,
        ORDERS_TABLE: this.orders.tableName,
        OUTBOX_TABLE: this.outbox.tableName,
        IDEMPOTENCY_TABLE: props.idempotencyTable.tableName,
        POWERTOOLS_SERVICE_NAME: "checkout",
      },
    });
    acknowledgeSynchronousInvocation(
      this.checkout,
      "the caller placing the order, who gets its answer",
    );
    // One TransactWriteItems: three conditional puts. GetItem reads a stored result back
    // when the cancellation did not carry it.
    this.orders.grant(this.checkout, "dynamodb:PutItem");
    this.outbox.grantWriteEvents(this.checkout);
    // Only its own records in the shared idempotency table: keys starting "checkout#".
    this.checkout.addToRolePolicy(
      new PolicyStatement({
        actions: ["dynamodb:PutItem", "dynamodb:GetItem"],
        resources: [props.idempotencyTable.table.tableArn],
        conditions: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${CHECKOUT_KEY_PREFIX}*`] },
        },
      }),
    );

    const common = {
      eventBus: this.bus,
      eventPattern: ORDER_PLACED,
      idempotencyTable: props.idempotencyTable.table,
      consumerTimeout: props.consumerTimeout,
      backoff: props.backoff,
      // The effects table goes to each consumer below, not here: EventSubscription also hands
      // `environment` to a FIFO subscription's forwarder, which neither reads nor may use it
      // (the access proof fails a function handed a table it holds no grant on).
      environment: props.handlerEnvironment,
      payloadStore: this.payloads,
    };
    this.payments = new EventSubscription(this, "Payments", {
      ...common,
      entry: lambdaEntry("payments/handler.ts"),
      consumerName: "payments",
      // One order's payment events in order, one at a time; different orders in parallel.
      messageGroupIdPath: "data.orderId",
    });
    this.payments.consumer.function.addEnvironment("EFFECTS_TABLE", props.effectsTable.tableName);
    props.effectsTable.grant(
      this.payments.consumer.function,
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    this.orderConfirmations = new EventSubscription(this, "OrderConfirmations", {
      ...common,
      entry: lambdaEntry("order-confirmation/handler.ts"),
      consumerName: "order-confirmations",
    });
    this.orderConfirmations.consumer.function.addEnvironment(
      "EFFECTS_TABLE",
      props.effectsTable.tableName,
    );
    // sendNotification: one transaction, a condition check on the suppression list and the
    // conditional delivery (the same grant as the notifications consumer's).
    props.effectsTable.grant(
      this.orderConfirmations.consumer.function,
      "dynamodb:ConditionCheckItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    this.analytics = new EventSubscription(this, "Analytics", {
      ...common,
      entry: lambdaEntry("analytics/handler.ts"),
      consumerName: "analytics",
    });
    this.analytics.consumer.function.addEnvironment("EFFECTS_TABLE", props.effectsTable.tableName);
    props.effectsTable.grant(
      this.analytics.consumer.function,
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );

    this.outputs(scope);
  }

  /** What `spool events replay` reads (the EventReplay output): bus, outbox, archive, subscriptions. */
  private replayConfig(): EventReplayConfig {
    const subscriptions: Record<string, EventReplaySubscription> = {};
    for (const s of [this.payments, this.orderConfirmations, this.analytics]) {
      subscriptions[s.consumerName] = {
        ruleArn: s.rule.ruleArn,
        targetQueueUrl: (s.inbox ?? s.queue).queue.queueUrl,
      };
    }
    return {
      eventBusName: this.bus.eventBusName,
      eventBusArn: this.bus.eventBusArn,
      outboxTable: this.outbox.tableName,
      ...(this.outbox.archive ? { archiveArn: this.outbox.archive.archiveArn } : {}),
      subscriptions,
    };
  }

  private outputs(scope: Construct): void {
    const out = (name: string, value: string) => new CfnOutput(scope, name, { value });
    out("EventBusName", this.bus.eventBusName);
    out("OutboxTableName", this.outbox.tableName);
    out("OutboxPublisherFunctionName", this.outbox.publisher.functionName);
    out("OutboxDeadLetterQueueUrl", this.outbox.deadLetterQueue.queueUrl);
    out("EventPayloadsBucketName", this.payloads.bucketName);
    out("OrdersTableName", this.orders.tableName);
    out("EventReplay", Stack.of(this).toJsonString(this.replayConfig()));
    out("CheckoutFunctionName", this.checkout.functionName);
    for (const [name, subscription] of [
      ["Payments", this.payments],
      ["OrderConfirmations", this.orderConfirmations],
      ["Analytics", this.analytics],
    ] as const) {
      out(`${name}QueueUrl`, subscription.queue.queue.queueUrl);
      out(`${name}DeadLetterQueueUrl`, subscription.queue.deadLetterQueue.queueUrl);
      out(`${name}DeliveryDeadLetterQueueUrl`, subscription.deliveryDeadLetterQueue.queueUrl);
      out(`${name}FunctionName`, subscription.consumer.function.functionName);
      if (subscription.inbox && subscription.forwarder) {
        out(`${name}InboxQueueUrl`, subscription.inbox.queue.queueUrl);
        out(`${name}InboxDeadLetterQueueUrl`, subscription.inbox.deadLetterQueue.queueUrl);
        out(`${name}ForwarderFunctionName`, subscription.forwarder.function.functionName);
      }
    }
  }
}

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { AnalyticsOrderPlaced, recordOrder } from "../../lambdas/analytics/record-order.js";
import {
  ConfirmationOrderPlaced,
  confirmOrder,
} from "../../lambdas/order-confirmation/confirm-order.js";
import { authorizePayment, PaymentsOrderPlaced } from "../../lambdas/payments/authorize-payment.js";
import {
  forwardEvent,
  messageGroupIdOf,
} from "../../lib/spool/event-subscription/runtime/forward.js";
import { CORRELATION_ID_ATTRIBUTE } from "../../lib/spool/runtime/correlation.js";
import { parseDeadLetterMetadata } from "../../lib/spool/runtime/dead-letter.js";
import { AnyEvent, type SpoolEvent } from "../../lib/spool/runtime/envelope.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import { createSqsConsumer } from "../../lib/spool/runtime/sqs-consumer.js";

const docs = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const NOW = new Date("2026-07-08T09:10:11.000Z");
const ctx = { messageId: "m-1", correlationId: "corr-1", attempt: 1, messageGroupId: "o-1" };

function orderPlaced(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    id: "evt-1",
    type: "OrderPlaced",
    schemaVersion: "1.0",
    time: NOW.toISOString(),
    source: "spool.checkout",
    correlationId: "corr-1",
    data: {
      orderId: "o-1",
      customerId: "c-1",
      email: "ada@example.com",
      currency: "EUR",
      items: [{ sku: "s", quantity: 1, unitPriceCents: 700 }],
      totalCents: 700,
      placedAt: NOW.toISOString(),
      ...data,
    },
    ...overrides,
  };
}

beforeEach(() => {
  docs.reset();
  sqs.reset();
});

describe("payments", () => {
  it("authorizes once per order with a conditional put", async () => {
    docs.on(PutCommand).resolves({});
    const event = PaymentsOrderPlaced.parse(orderPlaced());
    const result = await authorizePayment(event, ctx, { db, table: "effects", now: () => NOW });
    expect(result).toEqual({ authorized: true, orderId: "o-1", amountCents: 700 });
    const input = docs.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(input?.Item).toMatchObject({
      pk: "payment#o-1",
      sk: "authorization",
      amountCents: 700,
      eventId: "evt-1",
      messageGroupId: "o-1",
    });
  });

  it("counts a second authorization of the same order instead of charging twice", async () => {
    docs
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    docs.on(UpdateCommand).resolves({});
    const event = PaymentsOrderPlaced.parse(orderPlaced());
    const result = await authorizePayment(event, ctx, { db, table: "effects", now: () => NOW });
    expect(result).toEqual({ authorized: false, reason: "already-authorized", orderId: "o-1" });
    expect(docs.commandCalls(UpdateCommand)[0]?.args[0].input.UpdateExpression).toBe(
      "ADD duplicateAuthorizations :one",
    );
  });

  it("reads only the fields it needs (an event without email is fine for payments)", () => {
    const { email: _email, ...data } = orderPlaced().data;
    expect(PaymentsOrderPlaced.safeParse({ ...orderPlaced(), data }).success).toBe(true);
    expect(ConfirmationOrderPlaced.safeParse({ ...orderPlaced(), data }).success).toBe(false);
  });
});

describe("analytics", () => {
  it("adds the order to its customer's totals and writes a marker in one transaction", async () => {
    docs.on(TransactWriteCommand).resolves({});
    const event = AnalyticsOrderPlaced.parse(orderPlaced());
    expect(await recordOrder(event, ctx, { db, table: "effects", now: () => NOW })).toEqual({
      counted: true,
      orderId: "o-1",
    });
    const items = docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put).toMatchObject({
      Item: { pk: "analytics#order#o-1", sk: "counted", eventId: "evt-1" },
      ConditionExpression: "attribute_not_exists(pk)",
    });
    expect(items[1]?.Update).toMatchObject({
      Key: { pk: "analytics#customer#c-1", sk: "stats#EUR" },
      ExpressionAttributeValues: { ":one": 1, ":total": 700 },
    });
  });

  it("adds nothing when the order was already counted", async () => {
    docs.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: "cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "None" }],
      }),
    );
    const event = AnalyticsOrderPlaced.parse(orderPlaced());
    expect(await recordOrder(event, ctx, { db, table: "effects", now: () => NOW })).toEqual({
      counted: false,
      orderId: "o-1",
    });
  });

  it("lets a conflicting transaction fail (retried as transient)", async () => {
    docs.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: "cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }],
      }),
    );
    const event = AnalyticsOrderPlaced.parse(orderPlaced());
    await expect(
      recordOrder(event, ctx, { db, table: "effects", now: () => NOW }),
    ).rejects.toBeInstanceOf(TransactionCanceledException);
  });
});

describe("order confirmation", () => {
  it("sends one email per order, keyed by the order id", async () => {
    docs.on(TransactWriteCommand).resolves({});
    const event = ConfirmationOrderPlaced.parse(orderPlaced());
    const result = await confirmOrder(event, ctx, { db, table: "effects", now: () => NOW });
    expect(result).toEqual({ delivered: true, notificationId: "order-confirmation#o-1" });
    const items = docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.find((i) => i.Put)?.Put?.Item).toMatchObject({
      pk: "notification#order-confirmation#o-1",
      recipient: "ada@example.com",
      template: "order-confirmation",
    });
  });
});

describe("event forwarder", () => {
  const event = AnyEvent.parse(orderPlaced()) as SpoolEvent;

  it("reads the message group from the configured path", () => {
    expect(messageGroupIdOf(event, "data.orderId")).toBe("o-1");
    expect(messageGroupIdOf(event, "data.totalCents")).toBe("700");
  });

  it.each(["data.missing", "data.items", "data.orderId.deeper"])(
    "refuses an event without a usable group at %s",
    (path) => {
      expect(() => messageGroupIdOf(event, path)).toThrow(PermanentError);
    },
  );

  it("forwards the event unread to the FIFO queue under its group, deduplicated by event id", async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: "fifo-1" });
    const loose = AnyEvent.parse({ ...orderPlaced(), extension: { added: "in 1.4" } });
    const result = await forwardEvent(loose, {
      sqs: new SQSClient({ region: "us-east-1" }),
      queueUrl: "https://sqs.local/000000000000/payments.fifo",
      groupIdPath: "data.orderId",
    });
    expect(result).toEqual({ messageGroupId: "o-1", messageId: "fifo-1" });
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      MessageGroupId: "o-1",
      MessageDeduplicationId: "evt-1",
      MessageAttributes: { [CORRELATION_ID_ATTRIBUTE]: { StringValue: "corr-1" } },
    });
    // Fields a newer envelope adds travel on.
    expect(JSON.parse(input?.MessageBody ?? "{}")).toMatchObject({
      extension: { added: "in 1.4" },
    });
  });
});

describe("an event consumer given an unsupported major", () => {
  it("dead-letters it at once with SCHEMA_VERSION_UNSUPPORTED and the version", async () => {
    sqs.on(SendMessageCommand).resolves({});
    const processed: string[] = [];
    const handler = createSqsConsumer(
      {
        schema: PaymentsOrderPlaced,
        idempotencyKey: (e) => e.id,
        process: async (e) => {
          processed.push(e.id);
        },
      },
      {
        consumerName: "payments",
        deadLetterQueueUrl: "https://sqs.local/000000000000/payments-dlq",
        maxReceiveCount: 5,
        backoff: { baseSeconds: 1, capSeconds: 2 },
        idempotencyTable: undefined,
        idempotencyTtlSeconds: 60,
      },
      {
        sqs: new SQSClient({ region: "us-east-1" }),
        dynamo: new DynamoDBClient({ region: "us-east-1" }),
        persistenceStore: undefined,
        logger: new Logger({ logLevel: "SILENT" }),
        metrics: new Metrics({ namespace: "test", serviceName: "test" }),
        faults: undefined,
        random: () => 0,
        now: () => NOW,
      },
    );
    const record = (id: string, body: unknown) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "1",
        SenderId: "x",
        ApproximateFirstReceiveTimestamp: "1",
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:payments",
      awsRegion: "us-east-1",
    });
    const response = await handler(
      {
        Records: [
          record("m-2", orderPlaced({ id: "evt-2", schemaVersion: "2.0" })),
          record("m-3", orderPlaced({ id: "evt-3", schemaVersion: "1.9" })),
        ],
      } as SQSEvent,
      { getRemainingTimeInMillis: () => 10_000 } as Context,
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(processed).toEqual(["evt-3"]);
    const letters = sqs.commandCalls(SendMessageCommand);
    expect(letters).toHaveLength(1);
    expect(parseDeadLetterMetadata(letters[0]?.args[0].input.MessageAttributes)).toMatchObject({
      reason: "permanent-failure",
      errorCode: "SCHEMA_VERSION_UNSUPPORTED",
      schemaVersion: "2.0",
      correlationId: "corr-1",
      messageId: "m-2",
    });
  });
});

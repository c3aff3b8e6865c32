import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { paginateScan } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import type { CheckoutResponse } from "../../../lambdas/checkout/place-order.js";
import { createEvent, type SpoolEvent } from "../../../lib/spool/runtime/envelope.js";
import { outboxRow } from "../../../lib/spool/transactional-outbox/runtime/outbox.js";
import {
  config,
  ddb,
  getItem,
  lacks,
  lambda,
  output,
  queueCounts,
  sqs,
  tableRecovery,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../helpers/cloud.js";

const dynamo = new DynamoDBClient(config);
const eventBridge = new EventBridgeClient(config);
const effects = () => output("EffectsTableName");

async function invoke<T>(functionName: string, payload: unknown): Promise<T> {
  const result = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
  const body = Buffer.from(result.Payload ?? new Uint8Array()).toString("utf8");
  if (result.FunctionError) throw new Error(`${functionName} failed: ${body}`);
  return JSON.parse(body) as T;
}

function checkoutRequest(overrides: Record<string, unknown> = {}) {
  return {
    idempotencyKey: uniqueId("key"),
    customerId: uniqueId("cust"),
    email: "ada@example.com",
    currency: "EUR",
    items: [
      { sku: "sku-book", quantity: 2, unitPriceCents: 1_500 },
      { sku: "sku-pen", quantity: 1, unitPriceCents: 250 },
    ],
    ...overrides,
  };
}

const checkout = (request: unknown) =>
  invoke<CheckoutResponse>(output("CheckoutFunctionName"), request);

async function created(request: unknown) {
  const response = await checkout(request);
  if (response.outcome === "rejected") throw new Error(JSON.stringify(response.error));
  return response;
}

const payment = (orderId: string) =>
  getItem(effects(), { pk: `payment#${orderId}`, sk: "authorization" });
const confirmation = (orderId: string) =>
  getItem(effects(), { pk: `notification#order-confirmation#${orderId}`, sk: "delivery" });
const customerStats = (customerId: string) =>
  getItem(effects(), { pk: `analytics#customer#${customerId}`, sk: "stats#EUR" });
const outboxItem = (eventId: string) => getItem(output("OutboxTableName"), { id: eventId });

/** Waits until each of the three subscribers has recorded its effect of the order. */
async function allEffects(orderId: string, customerId: string) {
  return waitFor(
    async () => {
      const [p, c, a] = await Promise.all([
        payment(orderId),
        confirmation(orderId),
        customerStats(customerId),
      ]);
      return p && c && a ? { payment: p, confirmation: c, stats: a } : undefined;
    },
    { what: `the effects of order ${orderId} in all three subscribers` },
  );
}

/** Writes an event to the outbox the way a producer's transaction would, outside any checkout. */
async function writeToOutbox(event: SpoolEvent, aggregateId: string) {
  await dynamo.send(
    new PutItemCommand({
      TableName: output("OutboxTableName"),
      Item: marshall(outboxRow(event, aggregateId), { removeUndefinedValues: true }),
      ConditionExpression: "attribute_not_exists(id)",
    }),
  );
}

function orderPlaced(data: Record<string, unknown>, schemaVersion = "1.0") {
  return createEvent({
    id: uniqueId("evt"),
    type: "OrderPlaced",
    schemaVersion,
    source: "spool.checkout",
    data,
  });
}

function orderData(orderId: string, customerId: string) {
  return {
    orderId,
    customerId,
    email: "grace@example.com",
    currency: "EUR",
    items: [{ sku: "sku-a", quantity: 1, unitPriceCents: 900 }],
    totalCents: 900,
    placedAt: new Date().toISOString(),
  };
}

/** The bodies currently visible in a queue, left visible for everyone else. */
async function peekBodies(queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
    }),
  );
  return Messages.map((m) => m.Body ?? "");
}

/** Every item whose `attribute` equals `value` (all pages: a filter applies page by page). */
async function scanAll(table: string, attribute: string, value: string) {
  const items: Record<string, unknown>[] = [];
  const pages = paginateScan(
    { client: ddb },
    {
      TableName: table,
      FilterExpression: "#a = :v",
      ExpressionAttributeNames: { "#a": attribute },
      ExpressionAttributeValues: { ":v": value },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

const includes = (needle: string) => (m: { Body?: string }) => m.Body?.includes(needle) ?? false;

describe.concurrent("transactional outbox and fan-out", () => {
  it("turns one checkout into one order, one published event and one effect per subscriber", async () => {
    const correlationId = uniqueId("corr");
    const request = { ...checkoutRequest(), correlationId };
    const order = await created(request);
    expect(order).toMatchObject({ outcome: "created", totalCents: 3_250, currency: "EUR" });

    const row = await getItem(output("OrdersTableName"), {
      pk: `order#${order.orderId}`,
      sk: "order",
    });
    expect(row).toMatchObject({ status: "PLACED", eventId: order.eventId, totalCents: 3_250 });

    const {
      payment: p,
      confirmation: c,
      stats,
    } = await allEffects(order.orderId, request.customerId);
    // Payments: FIFO, grouped by the order id through the forwarder.
    expect(p).toMatchObject({
      amountCents: 3_250,
      eventId: order.eventId,
      messageGroupId: order.orderId,
      correlationId,
      attempt: 1,
    });
    expect(c).toMatchObject({ recipient: "ada@example.com", correlationId });
    expect(stats).toMatchObject({ orders: 1, revenueCents: 3_250, lastOrderId: order.orderId });

    const published = await waitFor(
      async () => {
        const item = await outboxItem(order.eventId);
        return item?.status === "PUBLISHED" ? item : undefined;
      },
      { what: "the outbox row marked PUBLISHED" },
    );
    expect(published.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(published.eventBridgeId).toEqual(expect.any(String));
    expect(p?.duplicateAuthorizations).toBeUndefined();
    expect(c?.duplicateDeliveries).toBeUndefined();
  });

  it("answers a retried checkout with the first result: no second order, event or effect", async () => {
    const request = checkoutRequest();
    // Five attempts with one key at once (a double-click, a client retrying on a timeout)...
    const racing = await Promise.all([1, 2, 3, 4, 5].map(() => checkout(request)));
    const first = racing.find((r) => r.outcome === "created");
    if (!first || first.outcome === "rejected") throw new Error(JSON.stringify(racing));
    expect(racing.filter((r) => r.outcome === "created")).toHaveLength(1);
    // ...and one more later, after a lost response.
    const again = await checkout({ ...request, correlationId: uniqueId("retry") });
    for (const response of [...racing.filter((r) => r !== first), again]) {
      expect(response).toMatchObject({
        outcome: "replayed",
        orderId: first.orderId,
        eventId: first.eventId,
      });
    }

    const { stats } = await allEffects(first.orderId, request.customerId);
    expect(stats).toMatchObject({ orders: 1, revenueCents: 3_250 });
    // No second order and no second event exist, so nothing can cause a second effect.
    const orders = await scanAll(output("OrdersTableName"), "customerId", request.customerId);
    expect(orders.map((i) => i.orderId)).toEqual([first.orderId]);
    const events = await scanAll(output("OutboxTableName"), "aggregateId", first.orderId);
    expect(events.map((i) => i.id)).toEqual([first.eventId]);
  });

  it("refuses the same key for a different order, and bad input, writing nothing", async () => {
    const request = checkoutRequest();
    const first = await created(request);
    const reused = await checkout({
      ...request,
      items: [{ sku: "other", quantity: 1, unitPriceCents: 1 }],
    });
    expect(reused).toMatchObject({
      outcome: "rejected",
      error: { code: "IDEMPOTENCY_KEY_REUSED" },
    });

    const bad = checkoutRequest({ currency: "euro", items: [] });
    const invalid = await checkout(bad);
    expect(invalid).toMatchObject({ outcome: "rejected", error: { code: "INVALID_REQUEST" } });
    if (invalid.outcome !== "rejected") throw new Error("expected a rejection");
    expect(invalid.error.issues?.map((i) => i.path).sort()).toEqual(["currency", "items"]);
    // Nothing was written for the rejected request: not even its idempotency key.
    const key = await getItem(output("IdempotencyTableName"), {
      id: `checkout#${bad.customerId}#${bad.idempotencyKey}`,
    });
    expect(key).toBeUndefined();
    expect(
      await getItem(output("IdempotencyTableName"), {
        id: `checkout#${request.customerId}#${request.idempotencyKey}`,
      }),
    ).toMatchObject({ status: "COMPLETED" });
    expect(first.outcome).toBe("created");
  });

  it("absorbs a re-published event: the publisher run again, and the row written again", async () => {
    const request = checkoutRequest();
    const order = await created(request);
    await allEffects(order.orderId, request.customerId);
    const published = await waitFor(
      async () => {
        const item = await outboxItem(order.eventId);
        return item?.status === "PUBLISHED" ? item : undefined;
      },
      { what: "the outbox row marked PUBLISHED" },
    );

    // 1. A crash before the stream checkpoint: the publisher gets the same record again.
    const raw = await dynamo.send(
      new GetItemCommand({
        TableName: output("OutboxTableName"),
        Key: marshall({ id: order.eventId }),
        ConsistentRead: true,
      }),
    );
    const republished = await invoke<{ batchItemFailures: unknown[] }>(
      output("OutboxPublisherFunctionName"),
      {
        Records: [
          {
            eventID: uniqueId("replay"),
            eventName: "INSERT",
            eventSource: "aws:dynamodb",
            eventSourceARN: "arn:aws:dynamodb:us-east-1:000000000000:table/outbox/stream/replay",
            dynamodb: { NewImage: raw.Item, SequenceNumber: "1", StreamViewType: "NEW_IMAGE" },
          },
        ],
      },
    );
    expect(republished.batchItemFailures).toEqual([]);

    // 2. An operator (or a buggy producer) writes the same event to the outbox again.
    await dynamo.send(
      new DeleteItemCommand({
        TableName: output("OutboxTableName"),
        Key: marshall({ id: order.eventId }),
      }),
    );
    const {
      status: _s,
      publishedAt: _p,
      eventBridgeId: _e,
      expiresAt: _x,
      ...original
    } = published;
    await dynamo.send(
      new PutItemCommand({
        TableName: output("OutboxTableName"),
        Item: marshall({ ...original, status: "PENDING" }),
      }),
    );

    // Once the re-written row is PUBLISHED again, both copies have been handed to the bus...
    await waitFor(async () => (await outboxItem(order.eventId))?.status === "PUBLISHED", {
      what: "the re-written row published again",
    });
    // ...and once every subscriber queue has drained, both have been consumed. (Not read from
    // the consumers' logs: MiniStack can attribute a log line written under load to the worker's
    // next invocation, so a log line is no proof either way.)
    const queues = [
      "PaymentsInboxQueueUrl",
      "PaymentsQueueUrl",
      "OrderConfirmationsQueueUrl",
      "AnalyticsQueueUrl",
    ].map(output);
    await waitFor(
      async () => {
        const counts = await Promise.all(queues.map(queueCounts));
        return counts.every((c) => c.visible + c.inFlight + c.delayed === 0);
      },
      { what: "every subscriber queue drained" },
    );
    // Consumed without a dead letter and without reaching any business step: the steps count
    // the calls their boundary refuses (duplicateAuthorizations, duplicateDeliveries), and the
    // analytics totals would move.
    for (const dlq of [
      "PaymentsInboxDeadLetterQueueUrl",
      "PaymentsDeadLetterQueueUrl",
      "OrderConfirmationsDeadLetterQueueUrl",
      "AnalyticsDeadLetterQueueUrl",
    ]) {
      expect(await peekBodies(output(dlq))).not.toContainEqual(
        expect.stringContaining(order.eventId),
      );
    }
    const after = await allEffects(order.orderId, request.customerId);
    expect(after.stats).toMatchObject({ orders: 1, revenueCents: 3_250 });
    expect(after.payment?.duplicateAuthorizations).toBeUndefined();
    expect(after.confirmation?.duplicateDeliveries).toBeUndefined();
  });

  it("dead-letters one subscriber's poison event without disturbing the others", async () => {
    const orderId = uniqueId("o-poison");
    const customerId = uniqueId("cust");
    // A phone-only customer's order: valid OrderPlaced 1.0 for payments and analytics, but the
    // order confirmation cannot be sent without an email address.
    const { email: _email, ...data } = orderData(orderId, customerId);
    const event = orderPlaced(data);
    await writeToOutbox(event, orderId);

    const [letter] = await takeDeadLetters(
      output("OrderConfirmationsDeadLetterQueueUrl"),
      includes(event.id),
      1,
    );
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorCode: "SCHEMA_INVALID",
      correlationId: event.correlationId,
      schemaVersion: "1.0",
      consumer: "order-confirmations",
      attempts: 1,
    });
    expect(JSON.stringify(letter?.metadata?.errorDetails)).toContain("data.email");
    expect(JSON.parse(letter?.message.Body ?? "{}")).toEqual(event);

    await waitFor(async () => (await payment(orderId)) && (await customerStats(customerId)), {
      what: "payments and analytics to process the same event",
    });
    expect(await confirmation(orderId)).toBeUndefined();
  });

  it("dead-letters an event of an unknown major version in every subscriber, with the reason", async () => {
    const orderId = uniqueId("o-v2");
    const customerId = uniqueId("cust");
    const event = orderPlaced(orderData(orderId, customerId), "2.0");
    await writeToOutbox(event, orderId);

    for (const name of ["Payments", "OrderConfirmations", "Analytics"]) {
      const [letter] = await takeDeadLetters(
        output(`${name}DeadLetterQueueUrl`),
        includes(event.id),
        1,
      );
      expect(letter?.metadata).toMatchObject({
        reason: "permanent-failure",
        errorCode: "SCHEMA_VERSION_UNSUPPORTED",
        schemaVersion: "2.0",
        correlationId: event.correlationId,
      });
      expect(letter?.metadata?.errorMessage).toMatch(/schemaVersion 2\.0 is not supported/);
    }
    expect(await payment(orderId)).toBeUndefined();
    expect(await customerStats(customerId)).toBeUndefined();
  });

  // Refusing an event over EventBridge's limit (ENTRY_TOO_LARGE) is proven by the publisher's
  // unit tests only: that limit is 1 MB now, and DynamoDB refuses an outbox row over 400 KB
  // (the emulator too), so no row that reaches the publisher can be that large.
  it("publishes an event over the old 256 KB PutEvents limit, and the next one with it", async () => {
    const orderId = uniqueId("o-big");
    const customerId = uniqueId("cust");
    const large = orderPlaced({ ...orderData(orderId, customerId), note: "x".repeat(300_000) });
    const next = orderPlaced(orderData(uniqueId("o-next"), customerId));
    await writeToOutbox(large, orderId);
    await writeToOutbox(next, String(next.data.orderId));

    for (const event of [large, next]) {
      await waitFor(async () => (await outboxItem(event.id))?.status === "PUBLISHED", {
        what: `event ${event.id} published`,
      });
    }
    expect((await outboxItem(large.id))?.failure).toBeUndefined();
  });

  it("expires published outbox rows by TTL and keeps outbox and orders recoverable (PITR)", async () => {
    const TableName = output("OutboxTableName");
    const outbox = await tableRecovery(TableName);
    expect(outbox.ttl).toMatchObject({ AttributeName: "expiresAt", TimeToLiveStatus: "ENABLED" });
    expect(outbox.pitr).toBe("ENABLED");
    expect((await tableRecovery(output("OrdersTableName"))).pitr).toBe("ENABLED");
  });

  it.skipIf(
    lacks("ministack", "EventBridge target DeadLetterConfig/RetryPolicy are stored but never used"),
  )("sends an event EventBridge cannot deliver to the target's dead-letter queue", async () => {
    // A probe of the emulator's EventBridge, shaped like a subscription's target: the target
    // queue is gone, so the event must land in the target's DLQ.
    const name = uniqueId("probe");
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const gone = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const arnOf = async (url: string | undefined) =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
        )
      ).Attributes?.QueueArn;
    const [dlqArn, goneArn] = await Promise.all([arnOf(dlq.QueueUrl), arnOf(gone.QueueUrl)]);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: gone.QueueUrl }));
    const bus = output("EventBusName");
    await eventBridge.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: bus,
        EventPattern: JSON.stringify({ "detail-type": [name] }),
      }),
    );
    try {
      await eventBridge.send(
        new PutTargetsCommand({
          Rule: name,
          EventBusName: bus,
          Targets: [
            {
              Id: "gone",
              Arn: goneArn,
              DeadLetterConfig: { Arn: dlqArn },
              RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
            },
          ],
        }),
      );
      await eventBridge.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: bus, Source: "spool.probe", DetailType: name, Detail: "{}" }],
        }),
      );
      const received = await waitFor(
        async () => {
          const r = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1 }),
          );
          return r.Messages?.length ? r.Messages : undefined;
        },
        { what: "the undeliverable event in the target DLQ", timeoutMs: 120_000 },
      );
      expect(received[0]?.Body).toContain(name);
    } finally {
      await eventBridge.send(
        new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: ["gone"] }),
      );
      await eventBridge.send(new DeleteRuleCommand({ Name: name, EventBusName: bus }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: dlq.QueueUrl }));
    }
  });
});

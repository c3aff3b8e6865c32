import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  type CheckoutDeps,
  checkout,
  idempotencyRecordKey,
  requestHash,
} from "../../../lambdas/checkout/place-order.js";
import { CheckoutRequest } from "../../../lambdas/checkout/schema.js";
import { AnyEvent } from "../../../lib/spool/runtime/envelope.js";
import { TransientError } from "../../../lib/spool/runtime/errors.js";

const dynamo = mockClient(DynamoDBClient);
const NOW = new Date("2026-03-04T05:06:07.000Z");

function deps(): CheckoutDeps {
  let n = 0;
  return {
    dynamo: new DynamoDBClient({ region: "us-east-1" }),
    ordersTable: "orders",
    outboxTable: "outbox",
    idempotencyTable: "idempotency",
    idempotencyTtlSeconds: 3_600,
    now: () => NOW,
    newId: () => `id-${++n}`,
    random: () => 0.5,
    sleep: async () => {},
  };
}

const request = {
  idempotencyKey: "key-1",
  customerId: "cust-1",
  email: "ada@example.com",
  currency: "EUR",
  items: [
    { sku: "sku-a", quantity: 2, unitPriceCents: 1_250 },
    { sku: "sku-b", quantity: 1, unitPriceCents: 500 },
  ],
  correlationId: "corr-1",
};

function cancelled(reasons: { Code: string; Item?: Record<string, unknown> }[]) {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: reasons.map((r) => ({
      Code: r.Code,
      ...(r.Item ? { Item: marshall(r.Item) } : {}),
    })),
  });
}

function storedRecord(hash: string) {
  return {
    id: idempotencyRecordKey("cust-1", "key-1"),
    status: "COMPLETED",
    expiration: 1,
    validation: hash,
    data: JSON.stringify({
      orderId: "first-order",
      eventId: "first-event",
      correlationId: "corr-first",
      totalCents: 3_000,
      currency: "EUR",
      placedAt: "2026-03-04T00:00:00.000Z",
    }),
  };
}

beforeEach(() => dynamo.reset());

describe("checkout", () => {
  it("writes the key, the order and its event in one conditional transaction", async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    const response = await checkout(request, deps());

    expect(response).toEqual({
      outcome: "created",
      orderId: "id-1",
      eventId: "id-2",
      correlationId: "corr-1",
      totalCents: 3_000,
      currency: "EUR",
      placedAt: NOW.toISOString(),
    });
    const calls = dynamo.commandCalls(TransactWriteItemsCommand);
    expect(calls).toHaveLength(1);
    const items = calls[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.TableName)).toEqual(["idempotency", "orders", "outbox"]);

    const [key, order, outbox] = items.map((i) => i.Put);
    expect(unmarshall(key?.Item ?? {})).toEqual({
      id: "checkout#cust-1#key-1",
      expiration: Math.floor(NOW.getTime() / 1000) + 3_600,
      status: "COMPLETED",
      validation: requestHash(CheckoutRequest.parse(request)),
      data: JSON.stringify({
        orderId: "id-1",
        eventId: "id-2",
        correlationId: "corr-1",
        totalCents: 3_000,
        currency: "EUR",
        placedAt: NOW.toISOString(),
      }),
    });
    expect(key?.ConditionExpression).toBe("attribute_not_exists(#key) OR #expiry < :now");
    expect(key?.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD");

    expect(order?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(unmarshall(order?.Item ?? {})).toMatchObject({
      pk: "order#id-1",
      sk: "order",
      status: "PLACED",
      totalCents: 3_000,
      eventId: "id-2",
      idempotencyKey: "key-1",
    });

    expect(outbox?.ConditionExpression).toBe("attribute_not_exists(#id)");
    const row = unmarshall(outbox?.Item ?? {});
    expect(row).toMatchObject({
      id: "id-2",
      type: "OrderPlaced",
      schemaVersion: "1.0",
      status: "PENDING",
      aggregateId: "id-1",
    });
    expect(row).not.toHaveProperty("expiresAt");
    const event = AnyEvent.parse(JSON.parse(row.event));
    expect(event).toMatchObject({
      id: "id-2",
      type: "OrderPlaced",
      source: "spool.checkout",
      correlationId: "corr-1",
      data: { orderId: "id-1", customerId: "cust-1", totalCents: 3_000, email: "ada@example.com" },
    });
  });

  it("answers invalid input with the issues and writes nothing", async () => {
    const response = await checkout(
      { ...request, items: [{ sku: "x", quantity: 0, unitPriceCents: 1 }], extra: 1 },
      deps(),
    );
    expect(response).toMatchObject({
      outcome: "rejected",
      error: { code: "INVALID_REQUEST" },
    });
    if (response.outcome !== "rejected") throw new Error("expected a rejection");
    expect(response.error.issues?.map((i) => i.path)).toEqual(
      expect.arrayContaining(["items.0.quantity", ""]),
    );
    expect(dynamo.calls()).toHaveLength(0);
  });

  it("answers a retry with the same key from the stored record, writing nothing new", async () => {
    const hash = requestHash(CheckoutRequest.parse(request));
    dynamo
      .on(TransactWriteItemsCommand)
      .rejects(
        cancelled([{ Code: "ConditionalCheckFailed", Item: storedRecord(hash) }, { Code: "None" }]),
      );
    const response = await checkout({ ...request, correlationId: "another-trace" }, deps());
    expect(response).toMatchObject({
      outcome: "replayed",
      orderId: "first-order",
      eventId: "first-event",
      correlationId: "corr-first",
    });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it("reads the record when the cancellation does not carry it", async () => {
    const hash = requestHash(CheckoutRequest.parse(request));
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled([{ Code: "ConditionalCheckFailed" }]));
    dynamo.on(GetItemCommand).resolves({ Item: marshall(storedRecord(hash)) });
    const response = await checkout(request, deps());
    expect(response).toMatchObject({ outcome: "replayed", orderId: "first-order" });
    expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: "idempotency",
      ConsistentRead: true,
      Key: marshall({ id: "checkout#cust-1#key-1" }),
    });
  });

  it("refuses the same key with a different request", async () => {
    dynamo
      .on(TransactWriteItemsCommand)
      .rejects(cancelled([{ Code: "ConditionalCheckFailed", Item: storedRecord("another-hash") }]));
    const response = await checkout(request, deps());
    expect(response).toMatchObject({
      outcome: "rejected",
      error: { code: "IDEMPOTENCY_KEY_REUSED" },
    });
  });

  it("retries a transaction conflict with the same key, then answers from the record", async () => {
    const hash = requestHash(CheckoutRequest.parse(request));
    dynamo
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled([{ Code: "TransactionConflict" }, { Code: "None" }]))
      .rejects(cancelled([{ Code: "ConditionalCheckFailed", Item: storedRecord(hash) }]));
    const response = await checkout(request, deps());
    expect(response).toMatchObject({ outcome: "replayed", orderId: "first-order" });
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(2);
  });

  it("gives up on endless conflicts with a transient error (the caller retries with its key)", async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(cancelled([{ Code: "TransactionConflict" }]));
    await expect(checkout(request, deps())).rejects.toBeInstanceOf(TransientError);
  });

  it("lets unknown failures through (nothing is decided; the key makes a retry safe)", async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(new Error("socket hang up"));
    await expect(checkout(request, deps())).rejects.toThrow("socket hang up");
  });
});

describe("requestHash", () => {
  it("ignores the key and the correlation id, and key order", () => {
    const a = CheckoutRequest.parse(request);
    const b = CheckoutRequest.parse({
      correlationId: "other",
      idempotencyKey: "other",
      items: request.items,
      currency: "EUR",
      email: "ada@example.com",
      customerId: "cust-1",
    });
    expect(requestHash(a)).toBe(requestHash(b));
  });

  it("changes with the content", () => {
    const a = CheckoutRequest.parse(request);
    const b = CheckoutRequest.parse({ ...request, currency: "USD" });
    expect(requestHash(a)).not.toBe(requestHash(b));
  });
});

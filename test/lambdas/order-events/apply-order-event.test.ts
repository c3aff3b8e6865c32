import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  applyOrderEvent,
  type HistoryEntry,
  orderProjectionKey,
} from "../../../lambdas/order-events/apply-order-event.js";
import { OrderEvent, orderEventKey } from "../../../lambdas/order-events/schema.js";
import { PermanentError } from "../../../lib/spool/runtime/errors.js";

const TABLE = "effects";
const NOW = new Date("2024-05-01T10:00:00.000Z");
const META = { messageId: "m-1", correlationId: "corr-1", attempt: 2 };

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const deps = { db, table: TABLE, now: () => NOW };

function event(overrides: Partial<OrderEvent> = {}): OrderEvent {
  return {
    schemaVersion: 1,
    orderId: "order-1",
    seq: 2,
    type: "OrderPaid",
    customerId: "cust-1",
    amountCents: 1_250,
    occurredAt: "2024-05-01T09:59:00.000Z",
    ...overrides,
  };
}

function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(item ? { Item: marshall(item, { removeUndefinedValues: true }) } : {}),
  });
}

function historyEntry(seq: number): HistoryEntry {
  return {
    seq,
    type: "OrderPlaced",
    messageId: `m-${seq}`,
    correlationId: "c",
    attempt: 1,
    appliedAt: NOW.toISOString(),
  };
}

beforeEach(() => {
  dbMock.reset();
});

describe("applyOrderEvent", () => {
  it("applies an event with one conditional update and reports the new status", async () => {
    dbMock.on(UpdateCommand).resolves({});
    await expect(applyOrderEvent(event(), META, deps)).resolves.toEqual({
      applied: true,
      status: "PAID",
      seq: 2,
    });
    const calls = dbMock.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.TableName).toBe(TABLE);
    expect(input?.Key).toEqual({ pk: "order#order-1", sk: "projection" });
    expect(input?.ConditionExpression).toBe(
      "(attribute_not_exists(lastSeq) OR lastSeq < :seq) AND " +
        "(attribute_not_exists(#status) OR #status <> :cancelled)",
    );
    expect(input?.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD");
    expect(input?.ExpressionAttributeNames).toEqual({ "#status": "status" });
    expect(input?.UpdateExpression).toContain("SET lastSeq = :seq, #status = :status");
    expect(input?.UpdateExpression).toContain(
      "history = list_append(if_not_exists(history, :empty), :entry)",
    );
    expect(input?.UpdateExpression).toContain("amountCents = :amount");
    expect(input?.ExpressionAttributeValues).toEqual({
      ":seq": 2,
      ":status": "PAID",
      ":customer": "cust-1",
      ":now": NOW.toISOString(),
      ":empty": [],
      ":entry": [
        {
          seq: 2,
          type: "OrderPaid",
          messageId: "m-1",
          correlationId: "corr-1",
          attempt: 2,
          appliedAt: NOW.toISOString(),
        },
      ],
      ":cancelled": "CANCELLED",
      ":amount": 1_250,
    });
  });

  it("leaves amountCents alone when the event has none", async () => {
    dbMock.on(UpdateCommand).resolves({});
    const { amountCents: _none, ...withoutAmount } = event({ type: "OrderShipped", seq: 3 });
    await expect(applyOrderEvent(withoutAmount, META, deps)).resolves.toEqual({
      applied: true,
      status: "SHIPPED",
      seq: 3,
    });
    const input = dbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).not.toContain("amountCents");
    expect(input?.ExpressionAttributeValues).not.toHaveProperty(":amount");
  });

  it.each([
    ["OrderPlaced", "PLACED"],
    ["OrderPaid", "PAID"],
    ["OrderShipped", "SHIPPED"],
    ["OrderCancelled", "CANCELLED"],
  ] as const)("maps %s to status %s", async (type, status) => {
    dbMock.on(UpdateCommand).resolves({});
    const result = await applyOrderEvent(event({ type }), META, deps);
    expect(result).toMatchObject({ applied: true, status });
  });

  it("reports a redelivered event as already applied and counts the duplicate", async () => {
    dbMock
      .on(UpdateCommand)
      .rejectsOnce(
        conditionFailed({
          ...orderProjectionKey("order-1"),
          lastSeq: 3,
          status: "SHIPPED",
          history: [historyEntry(1), historyEntry(2), historyEntry(3)],
        }),
      )
      .resolves({});
    await expect(applyOrderEvent(event({ seq: 2 }), META, deps)).resolves.toEqual({
      applied: false,
      reason: "already-applied",
      seq: 2,
    });
    const calls = dbMock.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: "order#order-1", sk: "projection" },
      UpdateExpression: "ADD duplicateDeliveries :one",
      ExpressionAttributeValues: { ":one": 1 },
    });
    // The old item came with the failure: no extra read.
    expect(dbMock.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("reads the item when the failure carries none, then decides", async () => {
    dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});
    dbMock.on(GetCommand).resolves({
      Item: { lastSeq: 2, status: "PAID", history: [historyEntry(1), historyEntry(2)] },
    });
    await expect(applyOrderEvent(event({ seq: 2 }), META, deps)).resolves.toMatchObject({
      applied: false,
      reason: "already-applied",
    });
    const get = dbMock.commandCalls(GetCommand)[0]?.args[0].input;
    expect(get).toEqual({
      TableName: TABLE,
      Key: { pk: "order#order-1", sk: "projection" },
      ConsistentRead: true,
    });
  });

  it("refuses an event for a cancelled order with PermanentError ORDER_CLOSED", async () => {
    dbMock.on(UpdateCommand).rejects(
      conditionFailed({
        lastSeq: 2,
        status: "CANCELLED",
        history: [historyEntry(1), historyEntry(2)],
      }),
    );
    const failure = applyOrderEvent(event({ seq: 3, type: "OrderShipped" }), META, deps);
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(
      applyOrderEvent(event({ seq: 3, type: "OrderShipped" }), META, deps),
    ).rejects.toMatchObject({
      code: "ORDER_CLOSED",
      details: { orderId: "order-1", seq: 3 },
    });
    // No duplicate counted for a refusal.
    expect(
      dbMock
        .commandCalls(UpdateCommand)
        .filter((c) => c.args[0].input.UpdateExpression?.startsWith("ADD")),
    ).toHaveLength(0);
  });

  it("refuses an event older than the last applied one with OUT_OF_ORDER", async () => {
    dbMock.on(UpdateCommand).rejects(
      conditionFailed({
        lastSeq: 5,
        status: "SHIPPED",
        history: [historyEntry(4), historyEntry(5)],
      }),
    );
    await expect(applyOrderEvent(event({ seq: 3 }), META, deps)).rejects.toMatchObject({
      name: "PermanentError",
      code: "OUT_OF_ORDER",
      details: { orderId: "order-1", seq: 3, lastSeq: 5 },
      message: "event 3 of order order-1 arrived after event 5",
    });
  });

  it("treats a seen seq as a duplicate even when the order was cancelled since", async () => {
    dbMock
      .on(UpdateCommand)
      .rejectsOnce(
        conditionFailed({
          lastSeq: 3,
          status: "CANCELLED",
          history: [historyEntry(1), historyEntry(2), historyEntry(3)],
        }),
      )
      .resolves({});
    await expect(applyOrderEvent(event({ seq: 2 }), META, deps)).resolves.toMatchObject({
      applied: false,
      reason: "already-applied",
    });
  });

  it("passes other DynamoDB errors through (they are transient)", async () => {
    const throttled = Object.assign(new Error("slow down"), {
      name: "ProvisionedThroughputExceededException",
    });
    dbMock.on(UpdateCommand).rejects(throttled);
    await expect(applyOrderEvent(event(), META, deps)).rejects.toThrow("slow down");
    expect(dbMock.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe("OrderEvent schema", () => {
  const valid = {
    schemaVersion: 1,
    orderId: "order_1-A",
    seq: 1,
    type: "OrderPlaced",
    customerId: "cust-1",
    amountCents: 0,
    occurredAt: "2024-05-01T09:59:00.000Z",
    correlationId: "corr-1",
  };

  it("accepts a valid event, with or without the optional fields", () => {
    expect(OrderEvent.safeParse(valid).success).toBe(true);
    const { amountCents: _a, correlationId: _c, ...minimal } = valid;
    expect(OrderEvent.safeParse(minimal).success).toBe(true);
  });

  it("strips unknown fields", () => {
    const parsed = OrderEvent.parse({ ...valid, extra: "x" });
    expect(parsed).not.toHaveProperty("extra");
  });

  it.each([
    ["schemaVersion 2", { schemaVersion: 2 }],
    ["seq as a string", { seq: "1" }],
    ["seq 0", { seq: 0 }],
    ["fractional seq", { seq: 1.5 }],
    ["seq above 1,000,000", { seq: 1_000_001 }],
    ["an unknown type", { type: "OrderLost" }],
    ["a 65-character orderId", { orderId: "o".repeat(65) }],
    ["an orderId with a slash", { orderId: "a/b" }],
    ["an empty customerId", { customerId: "" }],
    ["a 65-character customerId", { customerId: "c".repeat(65) }],
    ["negative amountCents", { amountCents: -1 }],
    ["amountCents as a string", { amountCents: "100" }],
    ["a date without time", { occurredAt: "2024-05-01" }],
    ["a 129-character correlationId", { correlationId: "c".repeat(129) }],
  ])("rejects %s", (_name, change) => {
    expect(OrderEvent.safeParse({ ...valid, ...change }).success).toBe(false);
  });

  it.each(["schemaVersion", "orderId", "seq", "type", "customerId", "occurredAt"])(
    "rejects an event without %s",
    (key) => {
      const copy: Record<string, unknown> = { ...valid };
      delete copy[key];
      const result = OrderEvent.safeParse(copy);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([key]);
    },
  );

  it("accepts a 64-character orderId", () => {
    expect(OrderEvent.safeParse({ ...valid, orderId: "o".repeat(64) }).success).toBe(true);
  });

  it("keys an event by order and sequence", () => {
    expect(orderEventKey(OrderEvent.parse({ ...valid, seq: 7 }))).toBe("order_1-A#7");
  });
});

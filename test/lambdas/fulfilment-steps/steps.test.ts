import { Logger } from "@aws-lambda-powertools/logger";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { OrderToFulfil } from "../../../lambdas/fulfilment-steps/schema.js";
import {
  chargePayment,
  type FulfilmentDeps,
  notifyCustomer,
  refundPayment,
  releaseInventory,
  reserveInventory,
} from "../../../lambdas/fulfilment-steps/steps.js";
import type { StepContext } from "../../../lib/spool/saga-workflow/runtime/saga-step.js";

const ddbMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const deps: FulfilmentDeps = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "effects",
  sqs: new SQSClient({ region: "us-east-1" }),
  notificationsQueueUrl: "https://sqs.us-east-1.amazonaws.com/1/notifications",
  paymentLimitCents: 100_000,
  now: () => new Date("2026-01-01T00:00:00.000Z"),
};
const order: OrderToFulfil = {
  schemaVersion: 1,
  orderId: "o-1",
  customerId: "c-1",
  customerEmail: "c-1@example.com",
  items: [
    { sku: "mug", quantity: 2 },
    { sku: "tea", quantity: 1 },
  ],
  amountCents: 4_200,
  currency: "EUR",
};
const ctx = {
  step: "x",
  phase: "action",
  attempt: 1,
  execution: "arn:aws:states:us-east-1:1:execution:sm:o-1",
  correlationId: "corr-1",
  jobId: "order-fulfilment:o-1",
  results: {},
  failure: undefined,
  logger: new Logger({ logLevel: "SILENT" }),
} satisfies StepContext;

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const transactItems = (i = 0) =>
  ddbMock.commandCalls(TransactWriteCommand)[i]?.args[0].input.TransactItems ?? [];

beforeEach(() => {
  ddbMock.reset();
  sqsMock.reset();
});

describe("reserveInventory", () => {
  it("reserves every item, the reservation and the journal entry in one transaction", async () => {
    ddbMock.on(TransactWriteCommand).resolves({});
    expect(await reserveInventory(order, ctx, deps)).toEqual({ outcome: "ok", reserved: 2 });
    const items = transactItems();
    expect(items).toHaveLength(4);
    expect(items[0]?.Put?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(items[1]?.Update).toMatchObject({
      Key: { pk: "sku#mug", sk: "stock" },
      ConditionExpression: "available >= :q",
      ExpressionAttributeValues: { ":q": 2 },
    });
    expect(items[3]?.Update?.Key).toEqual({ pk: "order#o-1", sk: "journal" });
  });

  it("rejects an order the stock cannot cover, naming the short items", async () => {
    ddbMock
      .on(TransactWriteCommand)
      .rejects(cancelled("None", "None", "ConditionalCheckFailed", "None"));
    expect(await reserveInventory(order, ctx, deps)).toEqual({
      outcome: "rejected",
      code: "OUT_OF_STOCK",
      reason: "not enough stock for tea (×1)",
    });
  });

  it("answers a retry of its own reservation as done, and refuses one voided by an undo", async () => {
    ddbMock
      .on(TransactWriteCommand)
      .rejects(cancelled("ConditionalCheckFailed", "None", "None", "None"));
    ddbMock.on(GetCommand).resolvesOnce({ Item: { status: "RESERVED" } });
    expect((await reserveInventory(order, ctx, deps)).outcome).toBe("ok");
    ddbMock.on(GetCommand).resolves({ Item: { status: "VOID" } });
    expect(await reserveInventory(order, ctx, deps)).toMatchObject({
      outcome: "rejected",
      code: "RESERVATION_VOIDED",
    });
  });

  it("lets other errors through to be retried", async () => {
    ddbMock.on(TransactWriteCommand).rejects(new Error("throttled"));
    await expect(reserveInventory(order, ctx, deps)).rejects.toThrow("throttled");
  });
});

describe("releaseInventory", () => {
  it("leaves a VOID tombstone when there is nothing to release", async () => {
    ddbMock.on(PutCommand).resolves({});
    expect(await releaseInventory(order, ctx, deps)).toEqual({ outcome: "nothing-to-undo" });
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      pk: "order#o-1",
      sk: "reservation",
      status: "VOID",
    });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("returns the reserved items (from the reservation) once", async () => {
    ddbMock
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    ddbMock
      .on(GetCommand)
      .resolves({ Item: { status: "RESERVED", items: [{ sku: "mug", quantity: 2 }] } });
    ddbMock.on(TransactWriteCommand).resolves({});
    expect(await releaseInventory(order, ctx, deps)).toEqual({
      outcome: "compensated",
      released: 1,
    });
    expect(transactItems()[1]?.Update).toMatchObject({
      Key: { pk: "sku#mug", sk: "stock" },
      UpdateExpression: "SET available = available + :q",
    });
    ddbMock.on(GetCommand).resolves({ Item: { status: "RELEASED" } });
    expect(await releaseInventory(order, ctx, deps)).toEqual({ outcome: "already-compensated" });
  });
});

describe("chargePayment", () => {
  it("declines above the limit without touching anything", async () => {
    const result = await chargePayment({ ...order, amountCents: 100_001 }, ctx, deps);
    expect(result).toMatchObject({ outcome: "rejected", code: "PAYMENT_DECLINED" });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it("charges once under the order's idempotency key", async () => {
    ddbMock.on(TransactWriteCommand).resolves({});
    expect(await chargePayment(order, ctx, deps)).toEqual({
      outcome: "ok",
      paymentId: "payment:o-1",
    });
    expect(transactItems()[0]?.Put?.Item).toMatchObject({
      status: "CHARGED",
      idempotencyKey: "payment:o-1",
      amountCents: 4_200,
    });
  });

  it("recognises its own earlier charge, and refuses a different amount for the same order", async () => {
    ddbMock.on(TransactWriteCommand).rejects(cancelled("ConditionalCheckFailed", "None"));
    ddbMock.on(GetCommand).resolvesOnce({ Item: { status: "CHARGED", amountCents: 4_200 } });
    expect((await chargePayment(order, ctx, deps)).outcome).toBe("ok");
    ddbMock.on(GetCommand).resolves({ Item: { status: "CHARGED", amountCents: 1 } });
    await expect(chargePayment(order, ctx, deps)).rejects.toMatchObject({
      code: "PAYMENT_MISMATCH",
    });
  });
});

describe("refundPayment", () => {
  it("refunds a charge once and reports a second call as already done", async () => {
    ddbMock
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    ddbMock.on(GetCommand).resolves({ Item: { status: "CHARGED" } });
    ddbMock
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .rejects(cancelled("ConditionalCheckFailed", "None"));
    expect(await refundPayment(order, ctx, deps)).toEqual({ outcome: "compensated" });
    expect(transactItems()[0]?.Update).toMatchObject({
      ConditionExpression: "#status = :from",
      ExpressionAttributeValues: { ":from": "CHARGED", ":to": "REFUNDED" },
    });
    expect(await refundPayment(order, ctx, deps)).toEqual({ outcome: "already-compensated" });
  });
});

describe("notifyCustomer", () => {
  it("asks for the notification under a stable id with the correlation id, and journals once", async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m-1" });
    ddbMock
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .rejects(cancelled("ConditionalCheckFailed", "None"));
    expect(await notifyCustomer(order, ctx, deps)).toEqual({
      outcome: "ok",
      notificationId: "order-confirmed-o-1",
    });
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(JSON.parse(sent?.MessageBody ?? "")).toMatchObject({
      notificationId: "order-confirmed-o-1",
      recipient: "c-1@example.com",
    });
    expect(sent?.MessageAttributes?.["correlation-id"]?.StringValue).toBe("corr-1");
    // A retry sends again (the consumer delivers one id once) but journals nothing new.
    expect((await notifyCustomer(order, ctx, deps)).outcome).toBe("ok");
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(2);
  });
});

import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { NotificationRequest } from "../../../lambdas/notifications/schema.js";
import {
  sendNotification,
  suppressionKey,
} from "../../../lambdas/notifications/send-notification.js";
import { PermanentError } from "../../../lib/spool/runtime/errors.js";

const TABLE = "effects";
const NOW = new Date("2024-05-01T10:00:00.000Z");
const META = { messageId: "m-1", correlationId: "corr-1", attempt: 3 };

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const deps = { db, table: TABLE, now: () => NOW };

function request(overrides: Partial<NotificationRequest> = {}): NotificationRequest {
  return {
    schemaVersion: 1,
    notificationId: "n-1",
    channel: "email",
    recipient: "Ada@Example.com",
    template: "order-shipped",
    data: { orderId: "o-1" },
    ...overrides,
  };
}

const cancelled = (codes: [string, string], suppressionItem?: Record<string, unknown>) =>
  new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: [
      { Code: codes[0], ...(suppressionItem ? { Item: marshall(suppressionItem) } : {}) },
      { Code: codes[1] },
    ],
  });

beforeEach(() => {
  dbMock.reset();
});

describe("sendNotification", () => {
  it("checks the suppression list and delivers with a conditional put, in one transaction", async () => {
    dbMock.on(TransactWriteCommand).resolves({});
    await expect(sendNotification(request(), META, deps)).resolves.toEqual({
      delivered: true,
      notificationId: "n-1",
    });
    const calls = dbMock.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.TransactItems).toEqual([
      {
        // Suppression is looked up case-insensitively.
        ConditionCheck: {
          TableName: TABLE,
          Key: { pk: "suppressed#ada@example.com", sk: "suppression" },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: {
            pk: "notification#n-1",
            sk: "delivery",
            channel: "email",
            recipient: "Ada@Example.com",
            template: "order-shipped",
            messageId: "m-1",
            correlationId: "corr-1",
            attempt: 3,
            deliveredAt: NOW.toISOString(),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    ]);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("refuses a suppressed recipient with PermanentError RECIPIENT_SUPPRESSED", async () => {
    dbMock.on(TransactWriteCommand).rejects(
      cancelled(["ConditionalCheckFailed", "None"], {
        ...suppressionKey("ada@example.com"),
        reason: "hard bounce",
      }),
    );
    const failure = sendNotification(request(), META, deps);
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toMatchObject({
      code: "RECIPIENT_SUPPRESSED",
      message: "recipient Ada@Example.com is suppressed: hard bounce",
      details: { recipient: "Ada@Example.com", reason: "hard bounce" },
    });
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("reports an already-delivered notification and counts the refused duplicate", async () => {
    dbMock.on(TransactWriteCommand).rejects(cancelled(["None", "ConditionalCheckFailed"]));
    dbMock.on(UpdateCommand).resolves({});
    await expect(sendNotification(request(), META, deps)).resolves.toEqual({
      delivered: false,
      reason: "already-delivered",
      notificationId: "n-1",
    });
    const update = dbMock.commandCalls(UpdateCommand);
    expect(update).toHaveLength(1);
    expect(update[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: "notification#n-1", sk: "delivery" },
      UpdateExpression: "ADD duplicateDeliveries :one",
      ExpressionAttributeValues: { ":one": 1 },
    });
  });

  it("prefers 'already delivered' when the recipient was suppressed after the delivery", async () => {
    dbMock
      .on(TransactWriteCommand)
      .rejects(
        cancelled(["ConditionalCheckFailed", "ConditionalCheckFailed"], { reason: "bounce" }),
      );
    dbMock.on(UpdateCommand).resolves({});
    await expect(sendNotification(request(), META, deps)).resolves.toMatchObject({
      delivered: false,
      reason: "already-delivered",
    });
  });

  it("passes other cancellations and DynamoDB errors through (transient)", async () => {
    dbMock.on(TransactWriteCommand).rejects(cancelled(["TransactionConflict", "None"]));
    await expect(sendNotification(request(), META, deps)).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    const throttled = Object.assign(new Error("throttled"), { name: "ThrottlingException" });
    dbMock.on(TransactWriteCommand).rejects(throttled);
    await expect(sendNotification(request(), META, deps)).rejects.toThrow("throttled");
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe("NotificationRequest schema", () => {
  const valid = {
    schemaVersion: 1,
    notificationId: "order#o-1:shipped",
    channel: "sms",
    recipient: "+15550100",
    template: "order-shipped",
    data: { orderId: "o-1", count: 2, urgent: true },
    correlationId: "corr-1",
  };

  it("accepts a valid request, with or without the optional fields", () => {
    expect(NotificationRequest.safeParse(valid).success).toBe(true);
    const { data: _d, correlationId: _c, ...minimal } = valid;
    expect(NotificationRequest.safeParse(minimal).success).toBe(true);
  });

  it.each([
    ["schemaVersion 2", { schemaVersion: 2 }],
    ["schemaVersion as a string", { schemaVersion: "1" }],
    ["an unknown channel", { channel: "pigeon" }],
    ["a 129-character notificationId", { notificationId: "n".repeat(129) }],
    ["a notificationId with a space", { notificationId: "n 1" }],
    ["an empty notificationId", { notificationId: "" }],
    ["a 2-character recipient", { recipient: "ab" }],
    ["a 255-character recipient", { recipient: "r".repeat(255) }],
    ["an empty template", { template: "" }],
    ["a 65-character template", { template: "t".repeat(65) }],
    ["nested data", { data: { order: { id: 1 } } }],
    ["data as an array", { data: ["x"] }],
    ["a numeric recipient", { recipient: 15550100 }],
    ["a 129-character correlationId", { correlationId: "c".repeat(129) }],
  ])("rejects %s", (_name, change) => {
    expect(NotificationRequest.safeParse({ ...valid, ...change }).success).toBe(false);
  });

  it.each(["schemaVersion", "notificationId", "channel", "recipient", "template"])(
    "rejects a request without %s",
    (key) => {
      const copy: Record<string, unknown> = { ...valid };
      delete copy[key];
      const result = NotificationRequest.safeParse(copy);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([key]);
    },
  );

  it("accepts a 128-character notificationId", () => {
    expect(
      NotificationRequest.safeParse({ ...valid, notificationId: "n".repeat(128) }).success,
    ).toBe(true);
  });
});

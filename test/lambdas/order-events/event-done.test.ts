import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { CartReminderDeps } from "../../../lambdas/order-events/cart-reminder.js";
import { orderEventDone } from "../../../lambdas/order-events/event-done.js";

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const docs = mockClient(db);

const reminders = {
  tasks: { db, config: { table: "Tasks" }, now: () => new Date() },
  target: "arn:aws:sqs:us-east-1:000000000000:reminders",
  delaySeconds: 3600,
} as unknown as CartReminderDeps;

/** The projection with events 1 and 2 applied, and the reminder task in `status` (or none). */
function stored(reminder: string | undefined) {
  docs.on(GetCommand, { TableName: "Effects" }).resolves({
    Item: { pk: "order#o-1", history: [{ seq: 1 }, { seq: 2 }] },
  });
  docs
    .on(GetCommand, { TableName: "Tasks" })
    .resolves(reminder ? { Item: { key: "cart-reminder#o-1", status: reminder } } : {});
}

describe("orderEventDone", () => {
  beforeEach(() => docs.reset());

  it("is false for an event not in the projection's history", async () => {
    stored("SCHEDULED");
    const event = { orderId: "o-1", seq: 3, type: "OrderPaid" } as const;
    expect(await orderEventDone(event, { db, table: "Effects", reminders })).toBe(false);
  });

  it("needs the reminder scheduled after OrderPlaced, and no longer scheduled after later events", async () => {
    const placed = { orderId: "o-1", seq: 1, type: "OrderPlaced" } as const;
    const paid = { orderId: "o-1", seq: 2, type: "OrderPaid" } as const;
    stored(undefined);
    expect(await orderEventDone(placed, { db, table: "Effects", reminders })).toBe(false);
    stored("SCHEDULED");
    expect(await orderEventDone(placed, { db, table: "Effects", reminders })).toBe(true);
    expect(await orderEventDone(paid, { db, table: "Effects", reminders })).toBe(false);
    stored("CANCELLED");
    expect(await orderEventDone(paid, { db, table: "Effects", reminders })).toBe(true);
  });

  it("is the projection alone where the stack has no reminders", async () => {
    stored(undefined);
    const paid = { orderId: "o-1", seq: 2, type: "OrderPaid" } as const;
    expect(await orderEventDone(paid, { db, table: "Effects", reminders: undefined })).toBe(true);
  });
});

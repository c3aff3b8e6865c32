import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { cartReminderKey, syncCartReminder } from "../../../lambdas/order-events/cart-reminder.js";
import type { OrderEvent } from "../../../lambdas/order-events/schema.js";
import { payloadHash } from "../../../lib/spool/delayed-tasks/runtime/tasks.js";

const TARGET = "arn:aws:sqs:us-east-1:111111111111:cart-reminders";
const NOW = new Date("2026-03-01T10:00:00.000Z");
const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const sqs = mockClient(new SQSClient({ region: "us-east-1" }));

const deps = () => ({
  tasks: {
    db: db as unknown as DynamoDBDocumentClient,
    sqs: sqs as unknown as SQSClient,
    scheduler: new SchedulerClient({ region: "us-east-1" }),
    config: {
      table: "tasks",
      scheduleGroup: "g",
      schedulerRoleArn: "r",
      deadLetterQueueArn: "d",
      targets: [TARGET],
      retryPolicy: { maximumEventAgeSeconds: 86_400, maximumRetryAttempts: 185 },
      retentionSeconds: 86_400,
    },
    now: () => NOW,
  },
  target: TARGET,
  delaySeconds: 600,
});

const event = (type: OrderEvent["type"], occurredAt: string): OrderEvent => ({
  schemaVersion: 1,
  orderId: "o-1",
  seq: 1,
  type,
  customerId: "c-1",
  occurredAt,
});

beforeEach(() => {
  db.reset();
  sqs.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("syncCartReminder", () => {
  it("schedules the reminder a fixed delay after the order was placed", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    expect(
      await syncCartReminder(event("OrderPlaced", "2026-03-01T09:58:00.000Z"), "corr", deps()),
    ).toBe("scheduled");
    const put = db.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(put).toMatchObject({
      key: "cart-reminder#o-1",
      dueAt: "2026-03-01T10:08:00.000Z",
      correlationId: "corr",
      payload: { orderId: "o-1", customerId: "c-1" },
    });
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.DelaySeconds).toBe(480);
  });

  it("sends a reminder whose time has passed at once (the event was processed late)", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    await syncCartReminder(event("OrderPlaced", "2026-03-01T09:00:00.000Z"), "corr", deps());
    expect(db.commandCalls(PutCommand)[0]?.args[0].input.Item?.dueAt).toBe(NOW.toISOString());
  });

  it("schedules a late reminder even when the clock moves between reading it and scheduling", async () => {
    // The chaos check met this: "now" read here was already past when scheduleTask read it again,
    // and a reminder due "now" was refused as TASK_TIME_IN_PAST.
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    let ms = NOW.getTime();
    const tick = () => {
      ms += 7;
      return new Date(ms);
    };
    const ticking = deps();
    const clock = { ...ticking, tasks: { ...ticking.tasks, now: tick } };
    expect(
      await syncCartReminder(event("OrderPlaced", "2026-03-01T09:00:00.000Z"), "corr", clock),
    ).toBe("scheduled");
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.DelaySeconds).toBeLessThanOrEqual(
      1,
    );
  });

  it("accepts a redelivered OrderPlaced whose reminder was already cancelled", async () => {
    db.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        message: "exists",
        $metadata: {},
        Item: marshall({
          key: "cart-reminder#o-1",
          status: "CANCELLED",
          payloadHash: payloadHash({ orderId: "o-1", customerId: "c-1" }, TARGET),
        }),
      }),
    );
    expect(await syncCartReminder(event("OrderPlaced", NOW.toISOString()), "corr", deps())).toBe(
      "none",
    );
  });

  it.each(["OrderPaid", "OrderShipped", "OrderCancelled"] as const)(
    "cancels the reminder on %s",
    async (type) => {
      db.on(UpdateCommand).resolves({
        Attributes: { key: "cart-reminder#o-1", route: "queue-delay" },
      });
      expect(await syncCartReminder(event(type, NOW.toISOString()), "corr", deps())).toBe(
        "cancelled",
      );
      expect(db.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
        key: cartReminderKey("o-1"),
      });
    },
  );
});

import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  atExpression,
  cancelTask,
  deliverTask,
  MAX_TASK_MESSAGE_BYTES,
  payloadHash,
  type ScheduleTaskInput,
  scheduleNameFor,
  scheduleTask,
  type TaskDependencies,
  type TasksConfig,
} from "../../../../../lib/spool/delayed-tasks/runtime/tasks.js";
import { PermanentError } from "../../../../../lib/spool/runtime/errors.js";

const NOW = new Date("2026-03-01T10:00:00.000Z");
const STANDARD = "arn:aws:sqs:us-east-1:111111111111:reminders";
const FIFO = "arn:aws:sqs:us-east-1:111111111111:expiries.fifo";
const CONFIG: TasksConfig = {
  table: "tasks",
  scheduleGroup: "spool-tasks",
  schedulerRoleArn: "arn:aws:iam::111111111111:role/scheduler",
  deadLetterQueueArn: "arn:aws:sqs:us-east-1:111111111111:tasks-dlq",
  targets: [STANDARD, FIFO],
  retryPolicy: { maximumEventAgeSeconds: 86_400, maximumRetryAttempts: 185 },
  retentionSeconds: 30 * 86_400,
};

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const sqs = mockClient(new SQSClient({ region: "us-east-1" }));
const scheduler = mockClient(new SchedulerClient({ region: "us-east-1" }));

function deps(): TaskDependencies {
  return {
    db: db as unknown as DynamoDBDocumentClient,
    sqs: sqs as unknown as SQSClient,
    scheduler: scheduler as unknown as SchedulerClient,
    config: CONFIG,
    now: () => NOW,
  };
}

function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(item ? { Item: marshall(item, { removeUndefinedValues: true }) } : {}),
  });
}

const input = (overrides: Partial<ScheduleTaskInput> = {}): ScheduleTaskInput => ({
  key: "reminder-1",
  delay: 60,
  payload: { orderId: "o-1" },
  target: STANDARD,
  correlationId: "corr-1",
  ...overrides,
});

beforeEach(() => {
  db.reset();
  sqs.reset();
  scheduler.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("scheduleTask validation", () => {
  it.each([
    [{ delay: undefined }, "TASK_TIME_INVALID", /exactly one of runAt and delay/],
    [{ runAt: NOW }, "TASK_TIME_INVALID", /exactly one of runAt and delay/],
    [{ delay: -1 }, "TASK_TIME_INVALID", /delay must be a number of seconds >= 0, got -1/],
    [
      { delay: undefined, runAt: new Date(NOW.getTime() - 1_000) },
      "TASK_TIME_IN_PAST",
      /runAt must not be in the past, got 2026-03-01T09:59:59.000Z/,
    ],
    [{ delay: undefined, runAt: "not a date" }, "TASK_TIME_INVALID", /runAt must be a date/],
    [
      { delay: 366 * 86_400 },
      "TASK_DELAY_TOO_LONG",
      /at most 31536000 s \(365 days\), got 31622400 s/,
    ],
    [{ key: "has space" }, "TASK_KEY_INVALID", /key must be 1–512 printable ASCII/],
    [{ key: "" }, "TASK_KEY_INVALID", /key must be/],
    [
      { target: "arn:aws:sqs:us-east-1:111111111111:other" },
      "TASK_TARGET_NOT_ALLOWED",
      /got arn:aws:sqs:us-east-1:111111111111:other/,
    ],
    [
      { payload: { blob: "x".repeat(MAX_TASK_MESSAGE_BYTES) } },
      "TASK_PAYLOAD_TOO_LARGE",
      /at most 262144 bytes \(256 KiB\)/,
    ],
  ] as const)("refuses %o with %s", async (overrides, code, message) => {
    const attempt = scheduleTask(input(overrides as Partial<ScheduleTaskInput>), deps());
    await expect(attempt).rejects.toBeInstanceOf(PermanentError);
    await expect(attempt).rejects.toMatchObject({ code });
    await expect(attempt).rejects.toThrow(message);
    expect(db.calls()).toHaveLength(0);
  });
});

describe("scheduleTask routing", () => {
  it("sends a task due within 15 minutes to a standard queue with DelaySeconds", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-1" });
    const task = await scheduleTask(input({ delay: 899.2 }), deps());
    expect(task).toMatchObject({
      created: true,
      route: "queue-delay",
      dueAt: "2026-03-01T10:15:00.000Z",
    });
    const sent = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.DelaySeconds).toBe(900);
    expect(sent?.QueueUrl).toBe("https://sqs.us-east-1.amazonaws.com/111111111111/reminders");
    expect(JSON.parse(sent?.MessageBody ?? "")).toEqual({
      kind: "spool.task",
      schemaVersion: 1,
      taskKey: "reminder-1",
      dueAt: "2026-03-01T10:15:00.000Z",
      correlationId: "corr-1",
      route: "queue-delay",
      payload: { orderId: "o-1" },
    });
    expect(sent?.MessageAttributes?.["correlation-id"]?.StringValue).toBe("corr-1");
    const put = db.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe("attribute_not_exists(#key)");
    expect(put?.Item).toMatchObject({
      key: "reminder-1",
      status: "SCHEDULED",
      payloadHash: payloadHash({ orderId: "o-1" }, STANDARD),
      expiresAt: Date.parse("2026-03-01T10:15:00Z") / 1000 + 30 * 86_400,
    });
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("creates a one-time schedule for a longer delay: at() in UTC, delete after completion, retries, DLQ", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: "arn" });
    const task = await scheduleTask(input({ delay: 86_400, key: "cart-reminder#o-1" }), deps());
    expect(task).toMatchObject({
      route: "scheduler",
      scheduleName: scheduleNameFor("cart-reminder#o-1"),
    });
    const created = scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input;
    expect(created).toMatchObject({
      Name: scheduleNameFor("cart-reminder#o-1"),
      GroupName: "spool-tasks",
      ScheduleExpression: "at(2026-03-02T10:00:00)",
      ScheduleExpressionTimezone: "UTC",
      ActionAfterCompletion: "DELETE",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: STANDARD,
        RoleArn: CONFIG.schedulerRoleArn,
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: CONFIG.deadLetterQueueArn },
      },
    });
    expect(JSON.parse(created?.Target?.Input ?? "")).toMatchObject({
      taskKey: "cart-reminder#o-1",
      route: "scheduler",
      correlationId: "corr-1",
    });
    expect(sqs.calls()).toHaveLength(0);
  });

  it("uses the Scheduler for a FIFO target (no per-message delay), with its message group", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    scheduler.on(CreateScheduleCommand).resolves({});
    await scheduleTask(input({ target: FIFO, delay: 30, messageGroupId: "order-9" }), deps());
    expect(
      scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.Target?.SqsParameters,
    ).toEqual({
      MessageGroupId: "order-9",
    });
  });

  it("forces a one-time schedule for a short delay with via: scheduler", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    scheduler.on(CreateScheduleCommand).resolves({});
    expect((await scheduleTask(input({ delay: 5, via: "scheduler" }), deps())).route).toBe(
      "scheduler",
    );
  });
});

describe("scheduleTask idempotency", () => {
  const existing = (overrides: Record<string, unknown> = {}) => ({
    key: "reminder-1",
    status: "SCHEDULED",
    dueAt: "2026-03-01T10:01:00.000Z",
    route: "queue-delay",
    target: STANDARD,
    correlationId: "corr-0",
    payloadHash: payloadHash({ orderId: "o-1" }, STANDARD),
    payload: { orderId: "o-1" },
    createdAt: "2026-03-01T09:59:00.000Z",
    dispatchedAt: "2026-03-01T09:59:00.100Z",
    ...overrides,
  });

  it("returns the existing task for the same key and payload, dispatching nothing", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing()));
    const task = await scheduleTask(input(), deps());
    expect(task).toMatchObject({
      created: false,
      dueAt: "2026-03-01T10:01:00.000Z",
      correlationId: "corr-0",
    });
    expect(task).not.toHaveProperty("payload");
    expect(sqs.calls()).toHaveLength(0);
  });

  it("refuses the same key with a different payload", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing()));
    await expect(
      scheduleTask(input({ payload: { orderId: "o-2" } }), deps()),
    ).rejects.toMatchObject({
      code: "TASK_KEY_CONFLICT",
      message: expect.stringMatching(/reminder-1 already exists with a different payload/),
    });
  });

  it("refuses a cancelled key", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing({ status: "CANCELLED" })));
    await expect(scheduleTask(input(), deps())).rejects.toMatchObject({ code: "TASK_CANCELLED" });
  });

  it("dispatches again a task recorded by a call that died before dispatching", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing({ dispatchedAt: undefined })));
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    const task = await scheduleTask(input(), deps());
    expect(task.created).toBe(true);
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.DelaySeconds).toBe(60);
  });

  it("reads the record when the emulator returns no old item with the condition failure", async () => {
    db.on(PutCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({ Item: existing() });
    expect((await scheduleTask(input(), deps())).created).toBe(false);
  });

  it("accepts its own schedule left by an earlier attempt, refuses another key's", async () => {
    db.on(PutCommand).resolves({});
    db.on(UpdateCommand).resolves({});
    scheduler
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: "exists", Message: "exists", $metadata: {} }));
    scheduler
      .on(GetScheduleCommand)
      .resolves({ Target: { Arn: STANDARD, RoleArn: "r", Input: '{"taskKey":"reminder-1"}' } });
    await expect(scheduleTask(input({ delay: 3_600 }), deps())).resolves.toMatchObject({
      route: "scheduler",
    });
    scheduler
      .on(GetScheduleCommand)
      .resolves({ Target: { Arn: STANDARD, RoleArn: "r", Input: '{"taskKey":"other"}' } });
    await expect(scheduleTask(input({ delay: 3_600 }), deps())).rejects.toMatchObject({
      code: "TASK_SCHEDULE_NAME_TAKEN",
    });
  });
});

describe("scheduleNameFor and atExpression", () => {
  it("keeps a key a schedule name can hold, hashes one it cannot", () => {
    expect(scheduleNameFor("reminder-1.a_b")).toBe("reminder-1.a_b");
    const hashed = scheduleNameFor("cart-reminder#order 42");
    expect(hashed).toMatch(/^cart-reminder-order-42--[0-9a-f]{24}$/);
    expect(scheduleNameFor("cart-reminder#order 42")).toBe(hashed);
    expect(scheduleNameFor("cart-reminder#order 43")).not.toBe(hashed);
    const long = scheduleNameFor("x".repeat(300));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[0-9A-Za-z_.-]+$/);
    expect(scheduleNameFor("###")).toMatch(/^h-[0-9a-f]{24}$/);
  });

  it("rounds at() up to the second, never early", () => {
    expect(atExpression(new Date("2026-03-01T10:00:00.000Z"))).toBe("at(2026-03-01T10:00:00)");
    expect(atExpression(new Date("2026-03-01T10:00:00.001Z"))).toBe("at(2026-03-01T10:00:01)");
  });
});

describe("cancelTask", () => {
  it("marks the task cancelled, then deletes its schedule", async () => {
    db.on(UpdateCommand).resolves({
      Attributes: { key: "k", status: "CANCELLED", route: "scheduler", scheduleName: "k" },
    });
    scheduler.on(DeleteScheduleCommand).resolves({});
    expect((await cancelTask("k", deps())).outcome).toBe("cancelled");
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "#status = :scheduled",
    );
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "k",
      GroupName: "spool-tasks",
    });
  });

  it("treats a schedule that already fired (gone) as deleted", async () => {
    db.on(UpdateCommand).resolves({
      Attributes: { key: "k", route: "scheduler", scheduleName: "k" },
    });
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: "gone", Message: "gone", $metadata: {} }));
    expect((await cancelTask("k", deps())).outcome).toBe("cancelled");
  });

  it("reports unknown, already cancelled and already delivered tasks", async () => {
    db.on(UpdateCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({});
    expect((await cancelTask("k", deps())).outcome).toBe("not-found");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "CANCELLED", route: "queue-delay" }),
    );
    expect((await cancelTask("k", deps())).outcome).toBe("already-cancelled");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "DELIVERED", route: "queue-delay" }),
    );
    expect((await cancelTask("k", deps())).outcome).toBe("already-delivered");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "DELIVERING", route: "queue-delay" }),
    );
    expect((await cancelTask("k", deps())).outcome).toBe("delivering");
  });
});

describe("deliverTask", () => {
  const deliveryDeps = () => ({
    db: db as unknown as DynamoDBDocumentClient,
    table: "tasks",
    now: () => NOW,
  });

  it("claims the task, runs the effect once, marks it delivered", async () => {
    db.on(UpdateCommand).resolves({});
    const effect = vi.fn(async () => "sent");
    expect(await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).toEqual({
      status: "delivered",
      result: "sent",
    });
    expect(effect).toHaveBeenCalledOnce();
    const [claim, done] = db.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(claim?.ConditionExpression).toBe("#status IN (:scheduled, :delivering)");
    expect(done?.ExpressionAttributeValues?.[":delivered"]).toBe("DELIVERED");
  });

  it("drops a cancelled task without its effect, and counts the drop", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ key: "k", status: "CANCELLED", cancelledAt: "t" }))
      .resolves({});
    const effect = vi.fn();
    expect(await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).toEqual({
      status: "dropped-cancelled",
      cancelledAt: "t",
    });
    expect(effect).not.toHaveBeenCalled();
    expect(db.commandCalls(UpdateCommand)[1]?.args[0].input.UpdateExpression).toMatch(
      /ADD droppedDeliveries :one/,
    );
  });

  it("does nothing for a task already delivered", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ key: "k", status: "DELIVERED" }))
      .resolves({});
    const effect = vi.fn();
    expect((await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).status).toBe("duplicate");
    expect(effect).not.toHaveBeenCalled();
  });

  it("refuses a task with no record as permanent", async () => {
    db.on(UpdateCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({});
    await expect(deliverTask({ taskKey: "k" }, deliveryDeps(), vi.fn())).rejects.toMatchObject({
      code: "TASK_UNKNOWN",
    });
  });
});

import {
  ConflictException,
  CreateScheduleCommand,
  GetScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { scheduleNameFor } from "../../../../../lib/spool/delayed-tasks/runtime/dispatch.js";
import { MAX_TASK_MESSAGE_BYTES } from "../../../../../lib/spool/delayed-tasks/runtime/message.js";
import {
  payloadHash,
  type ScheduleTaskInput,
  scheduleTask,
} from "../../../../../lib/spool/delayed-tasks/runtime/schedule.js";
import { PermanentError } from "../../../../../lib/spool/runtime/errors.js";
import {
  CONFIG,
  conditionFailed,
  db,
  FIFO,
  NOW,
  resetTaskFakes,
  STANDARD,
  scheduleInput,
  scheduler,
  sqs,
  taskDeps,
} from "../../../../helpers/delayed-tasks.js";

beforeEach(() => {
  resetTaskFakes();
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
    const attempt = scheduleTask(
      scheduleInput(overrides as Partial<ScheduleTaskInput>),
      taskDeps(),
    );
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
    const task = await scheduleTask(scheduleInput({ delay: 899.2 }), taskDeps());
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
    const task = await scheduleTask(
      scheduleInput({ delay: 86_400, key: "cart-reminder#o-1" }),
      taskDeps(),
    );
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
    await scheduleTask(
      scheduleInput({ target: FIFO, delay: 30, messageGroupId: "order-9" }),
      taskDeps(),
    );
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
    expect(
      (await scheduleTask(scheduleInput({ delay: 5, via: "scheduler" }), taskDeps())).route,
    ).toBe("scheduler");
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
    const task = await scheduleTask(scheduleInput(), taskDeps());
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
      scheduleTask(scheduleInput({ payload: { orderId: "o-2" } }), taskDeps()),
    ).rejects.toMatchObject({
      code: "TASK_KEY_CONFLICT",
      message: expect.stringMatching(/reminder-1 already exists with a different payload/),
    });
  });

  it("refuses a cancelled key", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing({ status: "CANCELLED" })));
    await expect(scheduleTask(scheduleInput(), taskDeps())).rejects.toMatchObject({
      code: "TASK_CANCELLED",
    });
  });

  it("dispatches again a task recorded by a call that died before dispatching", async () => {
    db.on(PutCommand).rejects(conditionFailed(existing({ dispatchedAt: undefined })));
    db.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    const task = await scheduleTask(scheduleInput(), taskDeps());
    expect(task.created).toBe(true);
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.DelaySeconds).toBe(60);
  });

  it("reads the record when the emulator returns no old item with the condition failure", async () => {
    db.on(PutCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({ Item: existing() });
    expect((await scheduleTask(scheduleInput(), taskDeps())).created).toBe(false);
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
    await expect(scheduleTask(scheduleInput({ delay: 3_600 }), taskDeps())).resolves.toMatchObject({
      route: "scheduler",
    });
    scheduler
      .on(GetScheduleCommand)
      .resolves({ Target: { Arn: STANDARD, RoleArn: "r", Input: '{"taskKey":"other"}' } });
    await expect(scheduleTask(scheduleInput({ delay: 3_600 }), taskDeps())).rejects.toMatchObject({
      code: "TASK_SCHEDULE_NAME_TAKEN",
    });
  });
});

describe("payloadHash", () => {
  it("is the hash already stored on task records, whatever the payload's key order", () => {
    // Pinned: records live up to a year, and a changed hash would refuse a same-payload repeat.
    const expected = "315629e0a16c0f0e3b7a2c137324d296facf57507921358b1aa94bbc5d29cd20";
    expect(
      payloadHash({ orderId: "o-1", customerId: "c-1", lines: [{ qty: 2, sku: "a" }] }, STANDARD),
    ).toBe(expected);
    expect(
      payloadHash({ lines: [{ sku: "a", qty: 2 }], customerId: "c-1", orderId: "o-1" }, STANDARD),
    ).toBe(expected);
  });
});

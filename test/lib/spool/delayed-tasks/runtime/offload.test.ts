import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { TaskDependencies } from "../../../../../lib/spool/delayed-tasks/runtime/config.js";
import { taskMessage } from "../../../../../lib/spool/delayed-tasks/runtime/message.js";
import {
  payloadHash,
  type ScheduleTaskInput,
  scheduleTask,
} from "../../../../../lib/spool/delayed-tasks/runtime/schedule.js";
import { ConfigurationError } from "../../../../../lib/spool/runtime/env.js";
import { PermanentError } from "../../../../../lib/spool/runtime/errors.js";
import {
  PAYLOAD_SIZE_ATTRIBUTE,
  parsePointer,
  payloadKey,
  resolveBody,
} from "../../../../../lib/spool/runtime/payload-pointer.js";
import {
  CONFIG,
  conditionFailed,
  db,
  resetTaskFakes,
  STANDARD,
  scheduleInput,
  scheduler,
  sqs,
  taskDeps,
} from "../../../../helpers/delayed-tasks.js";
import { FakePayloadObjects } from "../../../../helpers/fake-payload-objects.js";

/**
 * Large task payloads through the payload store (runtime/offload.ts): what scheduleTask writes,
 * records and sends, on both routes, and what a consumer with the store gets back.
 */

const BUCKET = "task-payloads";
const THRESHOLD = 1_000;

beforeEach(() => {
  resetTaskFakes();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
  db.on(PutCommand).resolves({});
  db.on(UpdateCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: "m-1" });
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: "arn" });
});

function withStore(objects = new FakePayloadObjects()): {
  deps: TaskDependencies;
  objects: FakePayloadObjects;
} {
  return {
    deps: {
      ...taskDeps(),
      config: { ...CONFIG, payloadBucket: BUCKET, offloadThresholdBytes: THRESHOLD },
      payloadObjects: objects,
    },
    objects,
  };
}

const big = (fill = "x") => ({ orderId: "o-1", blob: fill.repeat(5_000) });
const bigInput = (overrides: Partial<ScheduleTaskInput> = {}) =>
  scheduleInput({ payload: big(), ...overrides });

const sentBody = () => sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
const recordPut = () => db.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};

describe("scheduleTask with a payload store", () => {
  it("stores a message over the threshold whole and sends its pointer; the record keeps no payload", async () => {
    const { deps, objects } = withStore();
    const task = await scheduleTask(bigInput(), deps);

    const inline = JSON.stringify(
      taskMessage(
        { key: "reminder-1", dueAt: "2026-03-01T10:01:00.000Z", correlationId: "corr-1" },
        "queue-delay",
        big(),
      ),
    );
    const pointer = { bucket: BUCKET, key: payloadKey(inline) };
    // The object is the message as it would have been sent, named by its hash.
    expect(objects.puts).toEqual([pointer]);
    expect(objects.objects.get(`${BUCKET}/${pointer.key}`)).toBe(inline);
    // What travels is the envelope without the payload, plus the pointer and the stored size.
    expect(JSON.parse(sentBody())).toEqual({
      kind: "spool.task",
      schemaVersion: 1,
      taskKey: "reminder-1",
      dueAt: "2026-03-01T10:01:00.000Z",
      correlationId: "corr-1",
      route: "queue-delay",
      payloadPointer: [
        "software.amazon.payloadoffloading.PayloadS3Pointer",
        { s3BucketName: BUCKET, s3Key: pointer.key },
      ],
      payloadSize: Buffer.byteLength(inline),
    });
    // No ExtendedPayloadSize attribute: the body is not the extended clients' bare array.
    const attributes = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes;
    expect(attributes?.[PAYLOAD_SIZE_ATTRIBUTE]).toBeUndefined();
    // The record: the real payload's hash, its size, no payload; the pointer once dispatched.
    expect(recordPut()).toMatchObject({
      payloadHash: payloadHash(big(), STANDARD),
      offloadedBytes: Buffer.byteLength(inline),
    });
    expect(recordPut()).not.toHaveProperty("payload");
    const dispatched = db.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(dispatched?.UpdateExpression).toContain("payloadPointer = :pointer");
    expect(dispatched?.ExpressionAttributeValues?.[":pointer"]).toEqual(pointer);
    expect(task).toMatchObject({ created: true, payloadPointer: pointer });

    // A consumer with the store gets the message back exactly (hash checked).
    const resolved = await resolveBody(sentBody(), undefined, { bucket: BUCKET, objects });
    expect(resolved).toBe(inline);
  });

  it("sends a message at or under the threshold inline, writing nothing to the store", async () => {
    const { deps, objects } = withStore();
    await scheduleTask(scheduleInput(), deps);
    expect(objects.puts).toEqual([]);
    expect(JSON.parse(sentBody()).payload).toEqual({ orderId: "o-1" });
    expect(recordPut()).toMatchObject({ payload: { orderId: "o-1" } });
    expect(recordPut()).not.toHaveProperty("offloadedBytes");
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input.UpdateExpression).not.toContain(
      "payloadPointer",
    );
  });

  it("offloads on the Scheduler route too: the schedule's input is the pointer envelope", async () => {
    const { deps, objects } = withStore();
    await scheduleTask(bigInput({ delay: 3_600 }), deps);
    const input = scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.Target?.Input;
    const envelope = JSON.parse(input ?? "");
    expect(envelope).toMatchObject({ taskKey: "reminder-1", route: "scheduler" });
    expect(envelope).not.toHaveProperty("payload");
    // The Scheduler sends no attributes: the consumer knows the pointer by the body alone.
    const resolved = await resolveBody(input ?? "", undefined, { bucket: BUCKET, objects });
    expect(JSON.parse(resolved)).toMatchObject({ route: "scheduler", payload: big() });
    expect(sqs.calls()).toHaveLength(0);
  });

  it("offloads a message over the inline limit even when the threshold is the limit", async () => {
    const { deps, objects } = withStore();
    const deps256 = { ...deps, config: { ...deps.config, offloadThresholdBytes: 262_144 } };
    await scheduleTask(scheduleInput({ payload: { blob: "y".repeat(900_000) } }), deps256);
    expect(objects.puts).toHaveLength(1);
    expect(Buffer.byteLength(sentBody())).toBeLessThan(1_000);
  });

  it("returns a big task scheduled again with the same payload (by hash) without storing or sending", async () => {
    const { deps, objects } = withStore();
    const pointer = { bucket: BUCKET, key: `sha256/${"a".repeat(64)}` };
    db.on(PutCommand).rejects(
      conditionFailed({
        key: "reminder-1",
        status: "SCHEDULED",
        dueAt: "2026-03-01T10:01:00.000Z",
        route: "queue-delay",
        target: STANDARD,
        correlationId: "corr-1",
        payloadHash: payloadHash(big(), STANDARD),
        offloadedBytes: 10_300,
        payloadPointer: pointer,
        createdAt: "2026-03-01T09:59:00.000Z",
        dispatchedAt: "2026-03-01T09:59:00.000Z",
        expiresAt: 1,
      }),
    );
    const again = await scheduleTask(bigInput(), deps);
    expect(again).toMatchObject({ created: false, payloadPointer: pointer });
    expect(objects.puts).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("refuses the same key with a different big payload (TASK_KEY_CONFLICT), storing nothing", async () => {
    const { deps, objects } = withStore();
    db.on(PutCommand).rejects(
      conditionFailed({
        key: "reminder-1",
        status: "SCHEDULED",
        dueAt: "2026-03-01T10:01:00.000Z",
        payloadHash: payloadHash(big("x"), STANDARD),
        offloadedBytes: 10_300,
        dispatchedAt: "2026-03-01T09:59:00.000Z",
      }),
    );
    await expect(scheduleTask(bigInput({ payload: big("z") }), deps)).rejects.toMatchObject({
      code: "TASK_KEY_CONFLICT",
    });
    expect(objects.puts).toEqual([]);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("dispatches a recorded but unconfirmed big task again from the caller's payload", async () => {
    const { deps, objects } = withStore();
    db.on(PutCommand).rejects(
      conditionFailed({
        key: "reminder-1",
        status: "SCHEDULED",
        dueAt: "2026-03-01T10:01:00.000Z",
        route: "queue-delay",
        target: STANDARD,
        correlationId: "corr-first",
        payloadHash: payloadHash(big(), STANDARD),
        offloadedBytes: 10_300,
        createdAt: "2026-03-01T09:59:00.000Z",
        expiresAt: 1,
      }),
    );
    const task = await scheduleTask(bigInput(), deps);
    expect(task.created).toBe(true);
    expect(objects.puts).toHaveLength(1);
    const resolved = JSON.parse(
      await resolveBody(sentBody(), undefined, { bucket: BUCKET, objects }),
    );
    // The first call's record decides the message: its correlation id, its due time.
    expect(resolved).toMatchObject({ correlationId: "corr-first", payload: big() });
  });

  it("is refused by a consumer when the object was altered since (hash mismatch)", async () => {
    const { deps, objects } = withStore();
    await scheduleTask(bigInput(), deps);
    const pointer = parsePointer(sentBody());
    if ("malformed" in pointer) throw new Error(pointer.malformed);
    const id = `${pointer.bucket}/${pointer.key}`;
    objects.objects.set(id, (objects.objects.get(id) ?? "").replace("o-1", "o-2"));
    const attempt = resolveBody(sentBody(), undefined, { bucket: BUCKET, objects });
    await expect(attempt).rejects.toBeInstanceOf(PermanentError);
    await expect(attempt).rejects.toMatchObject({ code: "PAYLOAD_UNRESOLVABLE" });
    await expect(attempt).rejects.toThrow(/does not match the hash/);
  });

  it("refuses to start without payloadObjects when the configuration names a store", async () => {
    const { deps } = withStore();
    const { payloadObjects: _objects, ...without } = deps;
    // Even a small task: the misconfiguration shows on the first call, not the first large one.
    await expect(scheduleTask(scheduleInput(), without)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(scheduleTask(scheduleInput(), without)).rejects.toThrow(
      /SPOOL_TASKS_PAYLOAD_BUCKET=task-payloads[\s\S]*payloadObjects/,
    );
    expect(db.calls()).toHaveLength(0);
  });
});

describe("scheduleTask without a payload store", () => {
  it("refuses a message over 256 KiB, naming the payloadStore option", async () => {
    const attempt = scheduleTask(
      scheduleInput({ payload: { blob: "y".repeat(300_000) } }),
      taskDeps(),
    );
    await expect(attempt).rejects.toMatchObject({ code: "TASK_PAYLOAD_TOO_LARGE" });
    await expect(attempt).rejects.toThrow(/give the DelayedTasks a payloadStore/);
    expect(db.calls()).toHaveLength(0);
  });

  it("refuses a delay beyond the construct's maxDelay", async () => {
    const deps = { ...taskDeps(), config: { ...CONFIG, maxDelaySeconds: 172_800 } };
    const attempt = scheduleTask(scheduleInput({ delay: 172_801 }), deps);
    await expect(attempt).rejects.toMatchObject({ code: "TASK_DELAY_TOO_LONG" });
    await expect(attempt).rejects.toThrow(
      /at most 172800 s \(the DelayedTasks maxDelay\), got 172801 s/,
    );
  });
});

/**
 * Large task payloads on the emulator, through the reference stack's DelayedTasks and its
 * PayloadStore (lib/example/parts/scheduling.ts): a test-hooks target, large-tasks, whose consumer
 * has the store and records a hash of each payload it is given (lambdas/large-tasks). A ~900 KB
 * payload (over the Scheduler's 256 KB input and DynamoDB's 400 KB item) is written to the store
 * by scheduleTask, travels as a pointer on either route, and is delivered once, whole. A task
 * whose object is gone is dead-lettered on its first delivery as PAYLOAD_UNRESOLVABLE, keeping
 * its pointer. Nothing here depends on the store's lifecycle rule, which MiniStack's
 * CloudFormation drops (docs/emulator-matrix.md).
 */
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { largeTaskKey, payloadSha256 } from "../../../../../lambdas/large-tasks/large-tasks.js";
import { getTask, scheduleTask } from "../../../../../lib/spool/delayed-tasks/runtime/tasks.js";
import { parsePointer } from "../../../../../lib/spool/runtime/payload-pointer.js";
import {
  getItem,
  lacks,
  output,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../../helpers/cloud.js";
import { s3, taskDeps } from "../../../../helpers/scheduling.js";

const target = () => output("LargeTasksQueueArn");
const delivery = (key: string) => getItem(output("EffectsTableName"), largeTaskKey(key));
const bigPayload = (runId: string) => ({
  runId,
  blob: `${runId}:${"0123456789abcdef".repeat(900_000 / 16)}`,
});

async function delivered(key: string) {
  const row = await waitFor(() => delivery(key), {
    what: `the delivery of ${key}`,
    timeoutMs: 120_000,
  });
  // Once: the record says DELIVERED after a single claim, and the step ran one time.
  const record = await waitFor(
    async () => {
      const task = await getTask(key, taskDeps());
      return task?.status === "DELIVERED" ? task : undefined;
    },
    { what: `the record of ${key} to say DELIVERED` },
  );
  return { row: (await delivery(key)) ?? row, record };
}

async function storedObject(pointer: { bucket: string; key: string }) {
  const object = await s3.send(new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));
  return (await object.Body?.transformToString("utf-8")) ?? "";
}

describe.concurrent("delayed tasks with a ~900 KB payload (payload store)", () => {
  it("delivers one due in a few seconds through SQS once, the handler seeing the identical payload", async () => {
    const key = uniqueId("t-big");
    const payload = bigPayload(key);
    const input = { key, delay: 5, payload, target: target() };
    const task = await scheduleTask(input, taskDeps());
    expect(task).toMatchObject({ created: true, route: "queue-delay" });
    const pointer = task.payloadPointer;
    if (!pointer) throw new Error("the task was not offloaded");
    expect(pointer.bucket).toBe(output("TaskPayloadsBucketName"));
    // The object is the whole task message; the record holds its pointer and no payload.
    expect(JSON.parse(await storedObject(pointer))).toMatchObject({ taskKey: key, payload });
    expect(task.offloadedBytes).toBeGreaterThan(900_000);
    // Scheduled again with the same payload: the same task, nothing new; another payload: refused.
    expect(await scheduleTask(input, taskDeps())).toMatchObject({ created: false });
    await expect(
      scheduleTask({ ...input, payload: bigPayload(`${key}-other`) }, taskDeps()),
    ).rejects.toMatchObject({ code: "TASK_KEY_CONFLICT" });

    const { row, record } = await delivered(key);
    expect(row).toMatchObject({
      payloadHash: payloadSha256(payload),
      payloadBytes: Buffer.byteLength(JSON.stringify(payload)),
      executions: 1,
      route: "queue-delay",
    });
    expect(record.deliveries).toBe(1);
    expect(record.duplicateDeliveries).toBeUndefined();
  });

  it.skipIf(lacks("localstack", "its EventBridge Scheduler does not fire targets"))(
    "delivers one through a one-time schedule (input over 256 KB) once, whole",
    async () => {
      const key = uniqueId("t-big-sched");
      const payload = bigPayload(key);
      const task = await scheduleTask(
        {
          key,
          runAt: new Date(Date.now() + 20_000),
          payload,
          target: target(),
          via: "scheduler",
        },
        taskDeps(),
      );
      expect(task).toMatchObject({ created: true, route: "scheduler" });
      expect(task.payloadPointer).toBeDefined();

      const { row, record } = await delivered(key);
      expect(row).toMatchObject({
        payloadHash: payloadSha256(payload),
        executions: 1,
        route: "scheduler",
      });
      expect(record.deliveries).toBe(1);
    },
  );

  it("dead-letters a task whose object was deleted on its first delivery, as PAYLOAD_UNRESOLVABLE", async () => {
    const key = uniqueId("t-big-gone");
    // Long enough a delay that the object is gone well before the message can be received.
    const task = await scheduleTask(
      { key, delay: 20, payload: bigPayload(key), target: target() },
      taskDeps(),
    );
    const pointer = task.payloadPointer;
    if (!pointer) throw new Error("the task was not offloaded");
    await s3.send(new DeleteObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));

    const [letter] = await takeDeadLetters(
      output("LargeTasksDeadLetterQueueUrl"),
      (m) => (m.Body ?? "").includes(key),
      1,
      { timeoutMs: 120_000 },
    );
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorCode: "PAYLOAD_UNRESOLVABLE",
      attempts: 1,
    });
    // The dead letter keeps the pointer, so a replay works once the object is back.
    const kept = parsePointer(letter?.message.Body ?? "");
    expect(kept).toEqual(pointer);
    // Never run: no delivery row, and the record was never claimed.
    expect(await delivery(key)).toBeUndefined();
    expect(await getTask(key, taskDeps())).toMatchObject({ status: "SCHEDULED" });
  });
});

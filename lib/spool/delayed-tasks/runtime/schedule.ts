import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { canonicalJson } from "../../runtime/canonical-json.js";
import { newCorrelationId } from "../../runtime/correlation.js";
import { describeBytes } from "../../runtime/limits.js";
import { MAX_TASK_DELAY_SECONDS, TASKS_ENV, type TasksConfig } from "../contract.js";
import { assertPayloadObjects, type TaskDependencies } from "./config.js";
import { dispatch, routeFor, scheduleNameFor } from "./dispatch.js";
import { MAX_TASK_MESSAGE_BYTES, refuseTask, taskMessage } from "./message.js";
import { offloads, taskMessageBytes } from "./offload.js";
import { publicTask, readTask, type Task, type TaskRecord } from "./record.js";
import { TASK_TABLE } from "./task-states.js";

/** Spool's bound on how far ahead a task may be scheduled (contract.ts; `maxDelay` lowers it). */
export { MAX_TASK_DELAY_SECONDS };

const TASK_KEY_PATTERN = /^[\x21-\x7e]{1,512}$/;

export interface ScheduleTaskInput {
  /** The business key: one key is one task, ever (until its record expires). */
  readonly key: string;
  /** When to deliver. Give this or `delay`. */
  readonly runAt?: Date | string;
  /** Seconds from now. Give this or `runAt`. */
  readonly delay?: number;
  /** JSON-serialisable; delivered as the message's `payload`. */
  readonly payload: unknown;
  /** ARN of the queue to deliver to; must be one of the DelayedTasks targets. */
  readonly target: string;
  /** @default - a new correlation id */
  readonly correlationId?: string;
  /**
   * "scheduler" forces a one-time schedule even for a short delay (so the task is visible and
   * deletable in the Scheduler console before it fires).
   * @default "auto"
   */
  readonly via?: "auto" | "scheduler";
  /** FIFO targets: the message group. @default the task key */
  readonly messageGroupId?: string;
}

export interface ScheduledTask extends Task {
  /** False when the key already existed with the same payload: nothing new was scheduled. */
  readonly created: boolean;
}

/** What must match for the same key scheduled again to be the same task. */
export function payloadHash(payload: unknown, target: string): string {
  return createHash("sha256").update(canonicalJson({ payload, target })).digest("hex");
}

/** Due times are whole seconds (rounded up, never early): what at() and DelaySeconds can say. */
function wholeSecond(date: Date): Date {
  return new Date(Math.ceil(date.getTime() / 1000) * 1000);
}

function resolveDueAt(input: ScheduleTaskInput, config: TasksConfig, now: Date): Date {
  const maxDelay = config.maxDelaySeconds ?? MAX_TASK_DELAY_SECONDS;
  const bound =
    maxDelay === MAX_TASK_DELAY_SECONDS
      ? `${MAX_TASK_DELAY_SECONDS} s (365 days)`
      : `${maxDelay} s (the DelayedTasks maxDelay)`;
  if ((input.runAt === undefined) === (input.delay === undefined)) {
    refuseTask("TASK_TIME_INVALID", "give exactly one of runAt and delay", {
      runAt: input.runAt ?? null,
      delay: input.delay ?? null,
    });
  }
  if (input.delay !== undefined) {
    if (!Number.isFinite(input.delay) || input.delay < 0) {
      refuseTask("TASK_TIME_INVALID", `delay must be a number of seconds >= 0, got ${input.delay}`);
    }
    if (input.delay > maxDelay) {
      refuseTask("TASK_DELAY_TOO_LONG", `delay must be at most ${bound}, got ${input.delay} s`);
    }
    return wholeSecond(new Date(now.getTime() + input.delay * 1000));
  }
  const runAt = input.runAt instanceof Date ? input.runAt : new Date(String(input.runAt));
  if (Number.isNaN(runAt.getTime())) {
    refuseTask("TASK_TIME_INVALID", `runAt must be a date, got ${String(input.runAt)}`);
  }
  if (runAt.getTime() < now.getTime()) {
    refuseTask(
      "TASK_TIME_IN_PAST",
      `runAt must not be in the past, got ${runAt.toISOString()} (now ${now.toISOString()})`,
    );
  }
  if (runAt.getTime() - now.getTime() > maxDelay * 1000) {
    refuseTask(
      "TASK_DELAY_TOO_LONG",
      `runAt must be at most ${bound} ahead, got ${runAt.toISOString()} (now ${now.toISOString()})`,
    );
  }
  return wholeSecond(runAt);
}

function validateInput(input: ScheduleTaskInput, config: TasksConfig): void {
  if (typeof input.key !== "string" || !TASK_KEY_PATTERN.test(input.key)) {
    refuseTask(
      "TASK_KEY_INVALID",
      `key must be 1–512 printable ASCII characters without spaces, got ${JSON.stringify(input.key)}`,
    );
  }
  if (!config.targets.includes(input.target)) {
    refuseTask(
      "TASK_TARGET_NOT_ALLOWED",
      `target must be one of the DelayedTasks targets (${config.targets.join(", ")}), got ${input.target}`,
    );
  }
  if (input.payload === undefined) refuseTask("TASK_PAYLOAD_INVALID", "payload is required");
}

/**
 * The record a new task is written as, after its message passed the size limit: with the payload
 * when the message goes inline, without it (`offloadedBytes`) when it goes through the payload
 * store.
 */
function newRecord(input: ScheduleTaskInput, deps: TaskDependencies, now: Date): TaskRecord {
  const config = deps.config;
  const dueAt = resolveDueAt(input, config, now);
  const correlationId = input.correlationId ?? newCorrelationId();
  const route = routeFor(
    input.target,
    Math.ceil((dueAt.getTime() - now.getTime()) / 1000),
    input.via,
  );
  const message = taskMessage(
    { key: input.key, dueAt: dueAt.toISOString(), correlationId },
    route,
    input.payload,
  );
  const size = taskMessageBytes(message);
  const offloaded = offloads(size, deps);
  if (!offloaded && size > MAX_TASK_MESSAGE_BYTES) {
    refuseTask(
      "TASK_PAYLOAD_TOO_LARGE",
      `the task message must be at most ${MAX_TASK_MESSAGE_BYTES} bytes (${describeBytes(MAX_TASK_MESSAGE_BYTES)}) without a payload store; got ${size} bytes: give the DelayedTasks a payloadStore (larger messages then travel as pointers, ${TASKS_ENV.payloadBucket}) or store the payload elsewhere and pass its key`,
      { bytes: size, limit: MAX_TASK_MESSAGE_BYTES },
    );
  }
  return {
    key: input.key,
    status: "SCHEDULED",
    dueAt: dueAt.toISOString(),
    route,
    target: input.target,
    correlationId,
    ...(route === "scheduler" ? { scheduleName: scheduleNameFor(input.key) } : {}),
    // The hash of the real payload, offloaded or not: the same key scheduled again is compared
    // with it, never with a pointer.
    payloadHash: payloadHash(input.payload, input.target),
    ...(offloaded ? { offloadedBytes: size } : { payload: input.payload }),
    ...(input.messageGroupId ? { messageGroupId: input.messageGroupId } : {}),
    createdAt: now.toISOString(),
    expiresAt: Math.floor(dueAt.getTime() / 1000) + config.retentionSeconds,
  };
}

/**
 * Schedules a task, idempotently by key: the same key with the same payload and target returns the
 * task as first scheduled (`created: false`); with a different payload or target it is refused
 * (`TASK_KEY_CONFLICT`). Validation failures are PermanentErrors with a code naming the rule.
 *
 * The record (key → status, payload hash, due time) is written with a conditional put before the
 * task is dispatched (`dispatch.ts`): it makes both routes idempotent by key and lets `cancelTask`
 * work for both.
 */
export async function scheduleTask(
  input: ScheduleTaskInput,
  deps: TaskDependencies,
): Promise<ScheduledTask> {
  const now = deps.now();
  assertPayloadObjects(deps);
  validateInput(input, deps.config);
  const record = newRecord(input, deps, now);

  let task: TaskRecord;
  const first = TASK_TABLE.condition("schedule");
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.config.table,
        Item: record,
        ConditionExpression: first.expression,
        ExpressionAttributeNames: first.names,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    task = record;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = (error.Item ? unmarshall(error.Item) : await readTask(input.key, deps)) as
      | TaskRecord
      | undefined;
    if (!existing) throw error;
    if (existing.payloadHash !== record.payloadHash) {
      refuseTask(
        "TASK_KEY_CONFLICT",
        `task ${input.key} already exists with a different payload or target; use a new key`,
        { key: input.key, status: existing.status, dueAt: existing.dueAt },
      );
    }
    if (existing.status === "CANCELLED") {
      refuseTask("TASK_CANCELLED", `task ${input.key} was cancelled; schedule it under a new key`, {
        key: input.key,
        cancelledAt: existing.cancelledAt,
      });
    }
    if (existing.dispatchedAt || existing.status !== "SCHEDULED") {
      return { ...publicTask(existing), created: false };
    }
    // Recorded but never confirmed dispatched: a previous call died in between. Dispatch again;
    // the consumer recognises a second message by the task key.
    task = existing;
  }

  // The caller's payload: equal to the recorded one by hash, and the only copy of an offloaded one.
  const { route, payloadPointer } = await dispatch(task, deps, input.payload);
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.config.table,
      Key: { key: task.key },
      UpdateExpression: `SET dispatchedAt = if_not_exists(dispatchedAt, :now), #route = :route${payloadPointer ? ", payloadPointer = :pointer" : ""}`,
      ExpressionAttributeNames: { "#route": "route" },
      ExpressionAttributeValues: {
        ":now": deps.now().toISOString(),
        ":route": route,
        ...(payloadPointer ? { ":pointer": payloadPointer } : {}),
      },
    }),
  );
  return {
    ...publicTask({
      ...task,
      route,
      dispatchedAt: now.toISOString(),
      ...(payloadPointer ? { payloadPointer } : {}),
    }),
    created: true,
  };
}

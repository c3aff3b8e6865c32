import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod";
import { newCorrelationId } from "../../runtime/correlation.js";
import { intEnv, jsonEnv, requireEnv } from "../../runtime/env.js";
import type { PermanentCode } from "../../runtime/error-codes.js";
import { PermanentError } from "../../runtime/errors.js";
import { describeBytes, SCHEDULER_MAX_INPUT_BYTES } from "../../runtime/limits.js";
import { spoolMessage } from "../../runtime/producer.js";
import { queueUrlFromArn } from "../../runtime/retry-delays.js";
import { TASKS_ENV, type TaskRetryPolicy, type TasksConfig } from "../contract.js";

export type { TaskRetryPolicy, TasksConfig };

/**
 * Delayed tasks: "run this once, at that time, unless cancelled".
 *
 * `scheduleTask` records the task (key → status, payload hash, due time) with a conditional write,
 * then dispatches it: with SQS `DelaySeconds` when it is due within 15 minutes on a standard queue,
 * otherwise (or for a FIFO queue, which has no per-message delay) as a one-time EventBridge
 * Scheduler schedule named after the key. The record makes both paths idempotent by key and lets
 * `cancelTask` work for both: a schedule is deleted, and a delayed SQS message (which cannot be
 * deleted) is dropped by the consumer when `deliverTask` finds the record cancelled.
 *
 * Task record states:
 *   SCHEDULED ──cancelTask──► CANCELLED            (a later delivery is dropped and counted)
 *       └──deliverTask──► DELIVERING ──► DELIVERED (a later delivery is a duplicate: no effect)
 * DELIVERING is the claim a consumer takes before the effect; a redelivery after a crash finds
 * it and runs the effect again, so the effect itself must be idempotent by task key.
 */

/** SQS's per-message delay limit: longer delays go through the Scheduler. */
export const MAX_QUEUE_DELAY_SECONDS = 900;
/** Spool's bound on how far ahead a task may be scheduled (the task record outlives it). */
export const MAX_TASK_DELAY_SECONDS = 365 * 86_400;
/**
 * The largest task message (JSON, UTF-8) Spool accepts, whichever route the task takes: the
 * Scheduler's target-input limit, the smaller of the two (SQS takes SQS_MAX_MESSAGE_BYTES). One
 * limit for both routes, so whether a task fits never depends on how far ahead it is due. Store a
 * bigger payload elsewhere and pass its key.
 */
export const MAX_TASK_MESSAGE_BYTES = SCHEDULER_MAX_INPUT_BYTES;
const TASK_KEY_PATTERN = /^[\x21-\x7e]{1,512}$/;
const SCHEDULE_NAME_PATTERN = /^[0-9A-Za-z_.-]{1,64}$/;
const MAX_SCHEDULE_NAME = 64;

export const TASK_MESSAGE_KIND = "spool.task";

export type TaskStatus = "SCHEDULED" | "CANCELLED" | "DELIVERING" | "DELIVERED";
export type TaskRoute = "queue-delay" | "scheduler" | "immediate";

/** The message a task's target queue receives, whichever path delivered it. */
export const TaskMessage = z.object({
  kind: z.literal(TASK_MESSAGE_KIND),
  schemaVersion: z.literal(1),
  taskKey: z.string().min(1).max(512),
  /** When the task was due (ISO 8601, UTC). */
  dueAt: z.iso.datetime(),
  /** Of whoever scheduled the task. */
  correlationId: z.string().min(1).max(128),
  route: z.enum(["queue-delay", "scheduler", "immediate"]),
  payload: z.unknown(),
});
export type TaskMessage = z.infer<typeof TaskMessage>;

/** A TaskMessage whose payload is validated by the consumer's own schema. */
export function taskMessageOf<P extends z.ZodType>(payload: P) {
  return TaskMessage.extend({ payload });
}

export function tasksConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TasksConfig {
  const setBy = "DelayedTasks.grantScheduling";
  return {
    table: requireEnv(TASKS_ENV.table, setBy, env),
    scheduleGroup: requireEnv(TASKS_ENV.scheduleGroup, setBy, env),
    schedulerRoleArn: requireEnv(TASKS_ENV.schedulerRoleArn, setBy, env),
    deadLetterQueueArn: requireEnv(TASKS_ENV.deadLetterQueueArn, setBy, env),
    targets: jsonEnv<string[]>(TASKS_ENV.targets, setBy, env),
    retryPolicy: jsonEnv<TaskRetryPolicy>(TASKS_ENV.retryPolicy, setBy, env),
    retentionSeconds: intEnv(
      TASKS_ENV.retentionSeconds,
      { min: 86_400, fallback: 30 * 86_400 },
      env,
    ),
  };
}

export interface TaskDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly scheduler: SchedulerClient;
  readonly config: TasksConfig;
  readonly now: () => Date;
}

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

export interface Task {
  readonly key: string;
  readonly status: TaskStatus;
  readonly dueAt: string;
  readonly route: TaskRoute;
  readonly target: string;
  readonly correlationId: string;
  readonly scheduleName?: string;
  readonly payloadHash: string;
  readonly createdAt: string;
  readonly dispatchedAt?: string;
  readonly cancelledAt?: string;
  readonly deliveredAt?: string;
  /** Deliveries that claimed the task (more than one only after a crash mid-effect). */
  readonly deliveries?: number;
  /** Deliveries that arrived after the task was cancelled and were dropped. */
  readonly droppedDeliveries?: number;
  /** Deliveries that arrived after it was delivered. */
  readonly duplicateDeliveries?: number;
}

export interface ScheduledTask extends Task {
  /** False when the key already existed with the same payload: nothing new was scheduled. */
  readonly created: boolean;
}

function invalid(
  code: PermanentCode,
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PermanentError(message, { code, details });
}

/** Canonical JSON (sorted keys), so equal payloads hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

export function payloadHash(payload: unknown, target: string): string {
  return createHash("sha256").update(canonicalJson({ payload, target })).digest("hex");
}

/**
 * The one-time schedule's name for a task key: the key itself when a schedule name can hold it,
 * otherwise a readable prefix plus a hash of the whole key. A collision is detected at creation
 * (the existing schedule names another key) and refused, never silently merged.
 */
export function scheduleNameFor(key: string): string {
  if (SCHEDULE_NAME_PATTERN.test(key)) return key;
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 24);
  const readable = key.replace(/[^0-9A-Za-z_.-]+/g, "-").replace(/^-+|-+$/g, "");
  const prefix = readable.slice(0, MAX_SCHEDULE_NAME - hash.length - 3);
  return `${prefix}--${hash}`.replace(/^--/, "h-");
}

/** `at()` wants local time without a zone: seconds precision, rounded up so it is never early. */
export function atExpression(dueAt: Date): string {
  const seconds = Math.ceil(dueAt.getTime() / 1000) * 1000;
  return `at(${new Date(seconds).toISOString().slice(0, 19)})`;
}

function isFifoArn(arn: string): boolean {
  return arn.endsWith(".fifo");
}

/** Due times are whole seconds (rounded up, never early): what at() and DelaySeconds can say. */
function wholeSecond(date: Date): Date {
  return new Date(Math.ceil(date.getTime() / 1000) * 1000);
}

function resolveDueAt(input: ScheduleTaskInput, now: Date): Date {
  if ((input.runAt === undefined) === (input.delay === undefined)) {
    invalid("TASK_TIME_INVALID", "give exactly one of runAt and delay", {
      runAt: input.runAt ?? null,
      delay: input.delay ?? null,
    });
  }
  if (input.delay !== undefined) {
    if (!Number.isFinite(input.delay) || input.delay < 0) {
      invalid("TASK_TIME_INVALID", `delay must be a number of seconds >= 0, got ${input.delay}`);
    }
    if (input.delay > MAX_TASK_DELAY_SECONDS) {
      invalid(
        "TASK_DELAY_TOO_LONG",
        `delay must be at most ${MAX_TASK_DELAY_SECONDS} s (365 days), got ${input.delay} s`,
      );
    }
    return wholeSecond(new Date(now.getTime() + input.delay * 1000));
  }
  const runAt = input.runAt instanceof Date ? input.runAt : new Date(String(input.runAt));
  if (Number.isNaN(runAt.getTime())) {
    invalid("TASK_TIME_INVALID", `runAt must be a date, got ${String(input.runAt)}`);
  }
  if (runAt.getTime() < now.getTime()) {
    invalid(
      "TASK_TIME_IN_PAST",
      `runAt must not be in the past, got ${runAt.toISOString()} (now ${now.toISOString()})`,
    );
  }
  if (runAt.getTime() - now.getTime() > MAX_TASK_DELAY_SECONDS * 1000) {
    invalid(
      "TASK_DELAY_TOO_LONG",
      `runAt must be at most 365 days ahead, got ${runAt.toISOString()}`,
    );
  }
  return wholeSecond(runAt);
}

function validateInput(input: ScheduleTaskInput, config: TasksConfig): void {
  if (typeof input.key !== "string" || !TASK_KEY_PATTERN.test(input.key)) {
    invalid(
      "TASK_KEY_INVALID",
      `key must be 1–512 printable ASCII characters without spaces, got ${JSON.stringify(input.key)}`,
    );
  }
  if (!config.targets.includes(input.target)) {
    invalid(
      "TASK_TARGET_NOT_ALLOWED",
      `target must be one of the DelayedTasks targets (${config.targets.join(", ")}), got ${input.target}`,
    );
  }
  if (input.payload === undefined) invalid("TASK_PAYLOAD_INVALID", "payload is required");
}

function taskMessage(
  task: Pick<Task, "key" | "dueAt" | "correlationId">,
  route: TaskRoute,
  payload: unknown,
) {
  return {
    kind: TASK_MESSAGE_KIND,
    schemaVersion: 1 as const,
    taskKey: task.key,
    dueAt: task.dueAt,
    correlationId: task.correlationId,
    route,
    payload,
  };
}

/**
 * Schedules a task, idempotently by key: the same key with the same payload and target returns the
 * task as first scheduled (`created: false`); with a different payload or target it is refused
 * (`TASK_KEY_CONFLICT`). Validation failures are PermanentErrors with a code naming the rule.
 */
export async function scheduleTask(
  input: ScheduleTaskInput,
  deps: TaskDependencies,
): Promise<ScheduledTask> {
  const now = deps.now();
  validateInput(input, deps.config);
  const dueAt = resolveDueAt(input, now);
  const correlationId = input.correlationId ?? newCorrelationId();
  const hash = payloadHash(input.payload, input.target);
  const delaySeconds = Math.ceil((dueAt.getTime() - now.getTime()) / 1000);
  const route: TaskRoute =
    input.via === "scheduler" || isFifoArn(input.target) || delaySeconds > MAX_QUEUE_DELAY_SECONDS
      ? "scheduler"
      : "queue-delay";
  const size = Buffer.byteLength(
    JSON.stringify(
      taskMessage(
        { key: input.key, dueAt: dueAt.toISOString(), correlationId },
        route,
        input.payload,
      ),
    ),
  );
  if (size > MAX_TASK_MESSAGE_BYTES) {
    invalid(
      "TASK_PAYLOAD_TOO_LARGE",
      `the task message must be at most ${MAX_TASK_MESSAGE_BYTES} bytes (${describeBytes(MAX_TASK_MESSAGE_BYTES)}); got ${size} bytes: store the payload elsewhere and pass its key`,
      { bytes: size, limit: MAX_TASK_MESSAGE_BYTES },
    );
  }
  const record: Task & { payload: unknown; messageGroupId?: string; expiresAt: number } = {
    key: input.key,
    status: "SCHEDULED",
    dueAt: dueAt.toISOString(),
    route,
    target: input.target,
    correlationId,
    ...(route === "scheduler" ? { scheduleName: scheduleNameFor(input.key) } : {}),
    payloadHash: hash,
    payload: input.payload,
    ...(input.messageGroupId ? { messageGroupId: input.messageGroupId } : {}),
    createdAt: now.toISOString(),
    expiresAt: Math.floor(dueAt.getTime() / 1000) + deps.config.retentionSeconds,
  };

  let task: typeof record;
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.config.table,
        Item: record,
        ConditionExpression: "attribute_not_exists(#key)",
        ExpressionAttributeNames: { "#key": "key" },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    task = record;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = (error.Item ? unmarshall(error.Item) : await readTask(input.key, deps)) as
      | typeof record
      | undefined;
    if (!existing) throw error;
    if (existing.payloadHash !== hash) {
      invalid(
        "TASK_KEY_CONFLICT",
        `task ${input.key} already exists with a different payload or target; use a new key`,
        { key: input.key, status: existing.status, dueAt: existing.dueAt },
      );
    }
    if (existing.status === "CANCELLED") {
      invalid("TASK_CANCELLED", `task ${input.key} was cancelled; schedule it under a new key`, {
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

  const dispatched = await dispatch(task, deps);
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.config.table,
      Key: { key: task.key },
      UpdateExpression: "SET dispatchedAt = if_not_exists(dispatchedAt, :now), #route = :route",
      ExpressionAttributeNames: { "#route": "route" },
      ExpressionAttributeValues: { ":now": deps.now().toISOString(), ":route": dispatched },
    }),
  );
  return {
    ...publicTask({ ...task, route: dispatched, dispatchedAt: now.toISOString() }),
    created: true,
  };
}

async function dispatch(
  task: Task & { payload: unknown; messageGroupId?: string },
  deps: TaskDependencies,
): Promise<TaskRoute> {
  const now = deps.now();
  const remaining = Math.ceil((Date.parse(task.dueAt) - now.getTime()) / 1000);
  const fifo = isFifoArn(task.target);
  // A dispatch retried after its due time (or a zero delay) is sent at once: a Scheduler at() in
  // the past is not a reliable way to say "now".
  if (remaining <= 0 || (task.route === "queue-delay" && !fifo)) {
    const route: TaskRoute = remaining <= 0 ? "immediate" : "queue-delay";
    await deps.sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrlFromArn(task.target),
          body: taskMessage(task, route, task.payload),
          correlationId: task.correlationId,
          ...(fifo
            ? { groupId: task.messageGroupId ?? task.key, deduplicationId: dedupId(task.key) }
            : { delaySeconds: Math.max(0, Math.min(remaining, MAX_QUEUE_DELAY_SECONDS)) }),
        }),
      ),
    );
    return route;
  }
  const name = task.scheduleName ?? scheduleNameFor(task.key);
  const input = JSON.stringify(taskMessage(task, "scheduler", task.payload));
  try {
    await deps.scheduler.send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: deps.config.scheduleGroup,
        ScheduleExpression: atExpression(new Date(task.dueAt)),
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" },
        ActionAfterCompletion: "DELETE",
        Description: `Spool task ${task.key}`.slice(0, 512),
        Target: {
          Arn: task.target,
          RoleArn: deps.config.schedulerRoleArn,
          Input: input,
          RetryPolicy: {
            MaximumEventAgeInSeconds: deps.config.retryPolicy.maximumEventAgeSeconds,
            MaximumRetryAttempts: deps.config.retryPolicy.maximumRetryAttempts,
          },
          DeadLetterConfig: { Arn: deps.config.deadLetterQueueArn },
          ...(fifo ? { SqsParameters: { MessageGroupId: task.messageGroupId ?? task.key } } : {}),
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
    // The name exists: ours from an earlier attempt (fine), or another key's (refused).
    const existing = await deps.scheduler.send(
      new GetScheduleCommand({ Name: name, GroupName: deps.config.scheduleGroup }),
    );
    const owner = safeParse(existing.Target?.Input)?.taskKey;
    if (owner !== task.key) {
      invalid(
        "TASK_SCHEDULE_NAME_TAKEN",
        `schedule ${name} in group ${deps.config.scheduleGroup} belongs to task ${String(owner)}, not ${task.key}`,
      );
    }
  }
  return "scheduler";
}

/** SQS FIFO deduplication ids are at most 128 characters from a restricted set. */
function dedupId(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function safeParse(text: string | undefined): Record<string, unknown> | undefined {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The record without what only the runtime needs (the payload, TTL, FIFO group). */
function publicTask(
  record: Task & { payload?: unknown; expiresAt?: number; messageGroupId?: string },
): Task {
  const { payload: _payload, expiresAt: _expires, messageGroupId: _group, ...task } = record;
  return task;
}

async function readTask(
  key: string,
  deps: { readonly db: DynamoDBDocumentClient; readonly config: Pick<TasksConfig, "table"> },
) {
  const { Item } = await deps.db.send(
    new GetCommand({ TableName: deps.config.table, Key: { key }, ConsistentRead: true }),
  );
  return Item;
}

/** The task's record, or undefined when the key is unknown (or its record expired). */
export async function getTask(
  key: string,
  deps: { readonly db: DynamoDBDocumentClient; readonly config: Pick<TasksConfig, "table"> },
): Promise<Task | undefined> {
  const item = await readTask(key, deps);
  return item ? publicTask(item as Task) : undefined;
}

export type CancelOutcome =
  | "cancelled"
  | "already-cancelled"
  /** A consumer has claimed it: the effect is running (or ran and is being recorded). */
  | "delivering"
  | "already-delivered"
  | "not-found";

/**
 * Cancels a task by key. The record is marked CANCELLED first (so a delivery already on its way is
 * dropped by the consumer), then a one-time schedule is deleted. Safe to repeat.
 */
export async function cancelTask(
  key: string,
  deps: TaskDependencies,
): Promise<{ readonly key: string; readonly outcome: CancelOutcome; readonly task?: Task }> {
  let task: Task;
  try {
    const result = await deps.db.send(
      new UpdateCommand({
        TableName: deps.config.table,
        Key: { key },
        UpdateExpression: "SET #status = :cancelled, cancelledAt = :now",
        ConditionExpression: "#status = :scheduled",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":cancelled": "CANCELLED",
          ":scheduled": "SCHEDULED",
          ":now": deps.now().toISOString(),
        },
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    task = result.Attributes as Task;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = (error.Item ? unmarshall(error.Item) : await readTask(key, deps)) as
      | Task
      | undefined;
    if (!existing) return { key, outcome: "not-found" };
    if (existing.status === "CANCELLED") {
      // Repeat the delete: the first cancel may have died before it.
      await deleteSchedule(existing, deps);
      return { key, outcome: "already-cancelled", task: publicTask(existing) };
    }
    const outcome = existing.status === "DELIVERING" ? "delivering" : "already-delivered";
    return { key, outcome, task: publicTask(existing) };
  }
  await deleteSchedule(task, deps);
  return { key, outcome: "cancelled", task: publicTask(task) };
}

async function deleteSchedule(task: Task, deps: TaskDependencies): Promise<void> {
  if (task.route !== "scheduler" || !task.scheduleName) return;
  try {
    await deps.scheduler.send(
      new DeleteScheduleCommand({ Name: task.scheduleName, GroupName: deps.config.scheduleGroup }),
    );
  } catch (error) {
    // Already fired (and deleted itself) or deleted by an earlier cancel.
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Consumer side

export interface TaskDeliveryDependencies {
  readonly db: DynamoDBDocumentClient;
  /** The tasks table. */
  readonly table: string;
  readonly now: () => Date;
}

export type TaskDeliveryOutcome<R> =
  | { readonly status: "delivered"; readonly result: R }
  | { readonly status: "dropped-cancelled"; readonly cancelledAt: string | undefined }
  | { readonly status: "duplicate" };

/**
 * Runs a task's effect once: claims the task (SCHEDULED → DELIVERING), runs `effect`, marks it
 * DELIVERED. A task cancelled before its delivery is dropped (and the drop counted on its record);
 * a task already delivered is a duplicate and does nothing. A claim left DELIVERING by a crash is
 * taken again by the redelivery, so `effect` must be idempotent by task key (a conditional write
 * on it) for the effect to be exactly-once.
 */
export async function deliverTask<R>(
  message: Pick<TaskMessage, "taskKey">,
  deps: TaskDeliveryDependencies,
  effect: () => Promise<R>,
): Promise<TaskDeliveryOutcome<R>> {
  const key = message.taskKey;
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { key },
        UpdateExpression: "SET #status = :delivering, lastDeliveryAt = :now ADD deliveries :one",
        ConditionExpression: "#status IN (:scheduled, :delivering)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":delivering": "DELIVERING",
          ":scheduled": "SCHEDULED",
          ":now": deps.now().toISOString(),
          ":one": 1,
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = (
      error.Item
        ? unmarshall(error.Item)
        : await readTask(key, { db: deps.db, config: { table: deps.table } })
    ) as Task | undefined;
    if (!existing) {
      throw new PermanentError(
        `task ${key} is unknown: no task record (expired or never scheduled)`,
        {
          code: "TASK_UNKNOWN",
          details: { key },
        },
      );
    }
    const cancelled = existing.status === "CANCELLED";
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { key },
        UpdateExpression: `SET ${cancelled ? "lastDroppedAt" : "lastDuplicateAt"} = :now ADD ${cancelled ? "droppedDeliveries" : "duplicateDeliveries"} :one`,
        ExpressionAttributeValues: { ":now": deps.now().toISOString(), ":one": 1 },
      }),
    );
    return cancelled
      ? { status: "dropped-cancelled", cancelledAt: existing.cancelledAt }
      : { status: "duplicate" };
  }
  const result = await effect();
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: { key },
      UpdateExpression: "SET #status = :delivered, deliveredAt = :now",
      ConditionExpression: "#status = :delivering",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":delivered": "DELIVERED",
        ":delivering": "DELIVERING",
        ":now": deps.now().toISOString(),
      },
    }),
  );
  return { status: "delivered", result };
}

import { createHash } from "node:crypto";
import {
  ConflictException,
  CreateScheduleCommand,
  GetScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { PayloadPointer } from "../../runtime/payload-pointer.js";
import { spoolMessage } from "../../runtime/producer.js";
import { queueUrlFromArn } from "../../runtime/retry-delays.js";
import type { TaskDependencies } from "./config.js";
import { refuseTask, type TaskRoute } from "./message.js";
import { taskBody } from "./offload.js";
import type { TaskRecord } from "./record.js";

/**
 * Routing a recorded task to its queue: an SQS `DelaySeconds` when it is due within 15 minutes on
 * a standard queue, otherwise (or for a FIFO queue, which has no per-message delay) a one-time
 * EventBridge Scheduler schedule named after the key.
 */

/** SQS's per-message delay limit: longer delays go through the Scheduler. */
export const MAX_QUEUE_DELAY_SECONDS = 900;
const SCHEDULE_NAME_PATTERN = /^[0-9A-Za-z_.-]{1,64}$/;
const MAX_SCHEDULE_NAME = 64;

export function isFifoArn(arn: string): boolean {
  return arn.endsWith(".fifo");
}

/** The route a task due in `delaySeconds` takes when it is first scheduled. */
export function routeFor(
  target: string,
  delaySeconds: number,
  via: "auto" | "scheduler" = "auto",
): TaskRoute {
  return via === "scheduler" || isFifoArn(target) || delaySeconds > MAX_QUEUE_DELAY_SECONDS
    ? "scheduler"
    : "queue-delay";
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

/** Where a dispatched task went: the route it took, and its stored message if it was offloaded. */
export interface Dispatched {
  readonly route: TaskRoute;
  readonly payloadPointer?: PayloadPointer;
}

/**
 * Sends the task on its way; returns the route it actually took. `payload` is the task's payload
 * (the record holds it only when it is sent inline; an offloaded one comes from the caller, whose
 * payload matched the record's hash). An offloaded task's message is written to the payload store
 * for the route it takes, then sent as a pointer on either route (offload.ts).
 */
export async function dispatch(
  task: TaskRecord,
  deps: TaskDependencies,
  payload: unknown = task.payload,
): Promise<Dispatched> {
  const now = deps.now();
  const remaining = Math.ceil((Date.parse(task.dueAt) - now.getTime()) / 1000);
  const fifo = isFifoArn(task.target);
  const offloaded = task.offloadedBytes !== undefined;
  // A dispatch retried after its due time (or a zero delay) is sent at once: a Scheduler at() in
  // the past is not a reliable way to say "now".
  if (remaining <= 0 || (task.route === "queue-delay" && !fifo)) {
    const route: TaskRoute = remaining <= 0 ? "immediate" : "queue-delay";
    const { body, pointer } = await taskBody(task, route, payload, offloaded, deps);
    await deps.sqs.send(
      new SendMessageCommand(
        spoolMessage({
          queueUrl: queueUrlFromArn(task.target),
          body,
          correlationId: task.correlationId,
          ...(fifo
            ? { groupId: task.messageGroupId ?? task.key, deduplicationId: dedupId(task.key) }
            : { delaySeconds: Math.max(0, Math.min(remaining, MAX_QUEUE_DELAY_SECONDS)) }),
        }),
      ),
    );
    return { route, ...(pointer ? { payloadPointer: pointer } : {}) };
  }
  const { body, pointer } = await taskBody(task, "scheduler", payload, offloaded, deps);
  await createSchedule(task, body, deps);
  return { route: "scheduler", ...(pointer ? { payloadPointer: pointer } : {}) };
}

async function createSchedule(
  task: TaskRecord,
  input: string,
  deps: TaskDependencies,
): Promise<void> {
  const name = task.scheduleName ?? scheduleNameFor(task.key);
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
          ...(isFifoArn(task.target)
            ? { SqsParameters: { MessageGroupId: task.messageGroupId ?? task.key } }
            : {}),
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
      refuseTask(
        "TASK_SCHEDULE_NAME_TAKEN",
        `schedule ${name} in group ${deps.config.scheduleGroup} belongs to task ${String(owner)}, not ${task.key}`,
      );
    }
  }
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

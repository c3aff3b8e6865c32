import { SchedulerClient } from "@aws-sdk/client-scheduler";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  cancelTask,
  scheduleTask,
  type TaskDependencies,
  tasksConfigFromEnv,
} from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import { intEnv } from "../../lib/spool/runtime/env.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
import { sharedS3PayloadObjects } from "../../lib/spool/runtime/payload-objects-s3.js";
import type { OrderEvent } from "./schema.js";

export interface CartReminderDeps {
  readonly tasks: TaskDependencies;
  /** ARN of the cart-reminders queue. */
  readonly target: string;
  /** How long after the order was placed the reminder is due. */
  readonly delaySeconds: number;
}

export function cartReminderKey(orderId: string): string {
  return `cart-reminder#${orderId}`;
}

export type ReminderAction =
  | "scheduled"
  | "already-scheduled"
  | "cancelled"
  | "nothing-to-cancel"
  | "none";

/**
 * The abandoned-cart reminder follows the order: placing it schedules a reminder (a delayed task
 * keyed by the order id), paying, shipping or cancelling it cancels the reminder. Both calls are
 * idempotent by key, so a redelivered or retried order event repeats them harmlessly.
 */
export async function syncCartReminder(
  event: OrderEvent,
  correlationId: string,
  deps: CartReminderDeps,
): Promise<ReminderAction> {
  const key = cartReminderKey(event.orderId);
  if (event.type === "OrderPlaced") {
    const now = deps.tasks.now();
    // Due a fixed time after the order, not after this (possibly retried) delivery; an event
    // processed after that moment gets its reminder at once (delay 0: "now" as scheduleTask reads
    // its clock, since a runAt of our "now" is already past by then and would be refused).
    const due = Date.parse(event.occurredAt) + deps.delaySeconds * 1000;
    try {
      const task = await scheduleTask(
        {
          key,
          ...(due > now.getTime() ? { runAt: new Date(due) } : { delay: 0 }),
          payload: { orderId: event.orderId, customerId: event.customerId },
          target: deps.target,
          correlationId,
        },
        deps.tasks,
      );
      return task.created ? "scheduled" : "already-scheduled";
    } catch (error) {
      // A redelivered OrderPlaced after the order was paid finds the reminder cancelled: fine.
      if (error instanceof PermanentError && error.code === "TASK_CANCELLED") return "none";
      throw error;
    }
  }
  const { outcome } = await cancelTask(key, deps.tasks);
  return outcome === "cancelled" ? "cancelled" : "nothing-to-cancel";
}

/** The reminder wiring from the environment, or undefined when the stack did not configure it. */
export function cartRemindersFromEnv(
  clients: { db: DynamoDBDocumentClient; sqs: SQSClient },
  env: NodeJS.ProcessEnv = process.env,
): CartReminderDeps | undefined {
  if (!env.CART_REMINDER_TARGET) return undefined;
  const config = tasksConfigFromEnv(env);
  return {
    tasks: {
      db: clients.db,
      sqs: clients.sqs,
      scheduler: new SchedulerClient({}),
      config,
      now: () => new Date(),
      // DelayedTasks has a payload store: a reminder too large to send inline goes through it.
      ...(config.payloadBucket !== undefined ? { payloadObjects: sharedS3PayloadObjects() } : {}),
    },
    target: env.CART_REMINDER_TARGET,
    delaySeconds: intEnv("CART_REMINDER_DELAY_SECONDS", { min: 0, fallback: 86_400 }, env),
  };
}

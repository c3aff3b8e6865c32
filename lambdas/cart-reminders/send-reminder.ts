import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { putOnce } from "../../lib/spool/runtime/effect-once.js";
import type { CartReminderTask } from "./schema.js";

export interface ReminderDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table stands in for the messaging provider: one row per reminder sent. */
  readonly table: string;
  readonly now: () => Date;
}

export function reminderKey(taskKey: string) {
  return { pk: `reminder#${taskKey}`, sk: "delivery" };
}

/**
 * Sends the abandoned-cart reminder through the (simulated) provider, idempotently by task key:
 * a conditional put, the way real providers deduplicate on an idempotency key. This is what keeps
 * the effect exactly-once when a delivery is retried after a crash between effect and record.
 */
export async function sendCartReminder(
  task: CartReminderTask,
  meta: { messageId: string; correlationId: string; attempt: number },
  deps: ReminderDeps,
): Promise<{ readonly sent: boolean; readonly taskKey: string }> {
  const sent = await putOnce(deps.db, {
    table: deps.table,
    key: reminderKey(task.taskKey),
    item: {
      orderId: task.payload.orderId,
      customerId: task.payload.customerId,
      taskKey: task.taskKey,
      dueAt: task.dueAt,
      route: task.route,
      // The scheduler's correlation id, carried by the task itself.
      correlationId: task.correlationId,
      messageId: meta.messageId,
      attempt: meta.attempt,
      deliveredAt: deps.now().toISOString(),
    },
    duplicateCounter: "duplicateDeliveries",
  });
  return { sent, taskKey: task.taskKey };
}

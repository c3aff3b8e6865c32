import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
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
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.table,
        Item: {
          ...reminderKey(task.taskKey),
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
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { sent: true, taskKey: task.taskKey };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: reminderKey(task.taskKey),
        UpdateExpression: "ADD duplicateDeliveries :one",
        ExpressionAttributeValues: { ":one": 1 },
      }),
    );
    return { sent: false, taskKey: task.taskKey };
  }
}

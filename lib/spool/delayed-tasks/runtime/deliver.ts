import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { PermanentError } from "../../runtime/errors.js";
import type { TaskMessage } from "./message.js";
import { readTask, type Task } from "./record.js";

/** The consumer side: what the target queue's consumer needs to deliver a task. */
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

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { PermanentError, TransientError } from "../../runtime/errors.js";
import { secondsUntil } from "../../runtime/retry-delays.js";
import type { TaskMessage } from "./message.js";
import { readTask, type Task } from "./record.js";
import { TASK_TABLE } from "./task-states.js";

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
 *
 * Never early: a message given with its `dueAt` that arrives before it is refused before the claim
 * (`TASK_NOT_DUE`, transient, retried after the time left). A consumer built with
 * `sqsConsumerHandler` holds such a message earlier, with `notBefore: (task) => task.dueAt`, which
 * costs no retry; this check is what keeps a consumer that does not from running a task early.
 *
 * A task whose message went through the payload store (offload.ts) reaches this function already
 * resolved: the consumer (`sqsConsumerHandler` with the store, QueueConsumer's `payloadStore`)
 * reads the object the pointer names, checks it against its hash and validates the whole task
 * before anything else, and dead-letters a pointer that cannot resolve at once
 * (PAYLOAD_UNRESOLVABLE) without a claim. A consumer that parses bodies itself resolves them with
 * `resolveBody` (runtime/payload-pointer.ts) first.
 */
export async function deliverTask<R>(
  message: Pick<TaskMessage, "taskKey"> & Partial<Pick<TaskMessage, "dueAt">>,
  deps: TaskDeliveryDependencies,
  effect: () => Promise<R>,
): Promise<TaskDeliveryOutcome<R>> {
  const key = message.taskKey;
  const early = secondsUntil(message.dueAt, deps.now());
  if (early > 0) {
    throw new TransientError(`task ${key} is not due until ${message.dueAt}`, {
      code: "TASK_NOT_DUE",
      details: { key, dueAt: message.dueAt, retryAfterSeconds: early },
    });
  }
  const claim = TASK_TABLE.update("claim");
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: { key },
        UpdateExpression: `SET ${claim.setStatus}, lastDeliveryAt = :now ADD deliveries :one`,
        ConditionExpression: claim.conditionExpression,
        ExpressionAttributeNames: claim.names,
        ExpressionAttributeValues: { ...claim.values, ":now": deps.now().toISOString(), ":one": 1 },
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
  const complete = TASK_TABLE.update("complete");
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.table,
      Key: { key },
      UpdateExpression: `SET ${complete.setStatus}, deliveredAt = :now`,
      ConditionExpression: complete.conditionExpression,
      ExpressionAttributeNames: complete.names,
      ExpressionAttributeValues: { ...complete.values, ":now": deps.now().toISOString() },
    }),
  );
  return { status: "delivered", result };
}

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteScheduleCommand, ResourceNotFoundException } from "@aws-sdk/client-scheduler";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { TaskDependencies } from "./config.js";
import { publicTask, readTask, type Task } from "./record.js";
import { TASK_TABLE } from "./task-states.js";

export type CancelOutcome =
  | "cancelled"
  | "already-cancelled"
  /** A consumer has claimed it: the effect is running (or ran and is being recorded). */
  | "delivering"
  | "already-delivered"
  | "not-found";

/**
 * Cancels a task by key. The record is marked CANCELLED first (so a delivery already on its way is
 * dropped by the consumer: a delayed SQS message cannot be deleted), then a one-time schedule is
 * deleted. Safe to repeat.
 */
export async function cancelTask(
  key: string,
  deps: TaskDependencies,
): Promise<{ readonly key: string; readonly outcome: CancelOutcome; readonly task?: Task }> {
  let task: Task;
  const cancel = TASK_TABLE.update("cancel");
  try {
    const result = await deps.db.send(
      new UpdateCommand({
        TableName: deps.config.table,
        Key: { key },
        UpdateExpression: `SET ${cancel.setStatus}, cancelledAt = :now`,
        ConditionExpression: cancel.conditionExpression,
        ExpressionAttributeNames: cancel.names,
        ExpressionAttributeValues: { ...cancel.values, ":now": deps.now().toISOString() },
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

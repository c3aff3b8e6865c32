import { TASKS_ENV } from "../../lib/spool/delayed-tasks/contract.js";
import { deliverTask } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { requireEnv } from "../../lib/spool/runtime/env.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { LargeTask, recordLargeTask } from "./large-tasks.js";

// Test hooks only. The stack gives this consumer the tasks' PayloadStore (SPOOL_PAYLOAD_BUCKET):
// the toolkit resolves an offloaded task's pointer through S3 before the schema sees the task.
export const handler = sqsConsumerHandler(LargeTask, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const now = () => new Date();
  const tasks = { db, table: requireEnv(TASKS_ENV.table, "DelayedTasks.grantDelivery"), now };
  const effects = { db, table: effectsTable() };
  return {
    idempotencyKey: (task) => task.taskKey,
    idempotencyPayload: (task) => ({ taskKey: task.taskKey, payload: task.payload }),
    notBefore: (task) => task.dueAt,
    process: (task) => deliverTask(task, tasks, () => recordLargeTask(task, effects)),
  };
});

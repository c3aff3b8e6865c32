import { TASKS_ENV } from "../../lib/spool/delayed-tasks/contract.js";
import { deliverTask } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { requireEnv } from "../../lib/spool/runtime/env.js";
import { sqsConsumerHandler } from "../../lib/spool/runtime/sqs-consumer.js";
import { effectsTable } from "../env.js";
import { CartReminderTask } from "./schema.js";
import { sendCartReminder } from "./send-reminder.js";

export const handler = sqsConsumerHandler(CartReminderTask, ({ dynamo }) => {
  const db = documentClient(dynamo);
  const now = () => new Date();
  const tasks = { db, table: requireEnv(TASKS_ENV.table, "DelayedTasks.grantDelivery"), now };
  const effects = { db, table: effectsTable(), now };
  return {
    // The task key: one task is one reminder, whichever path (SQS delay, Scheduler) delivered it.
    idempotencyKey: (task) => task.taskKey,
    // The same task may come by another route (a dispatch retried after its due time goes out
    // at once): what must match is the task, not how it travelled.
    idempotencyPayload: (task) => ({ taskKey: task.taskKey, payload: task.payload }),
    // Never early: the Scheduler fires within the minute, so a task can come up to a minute
    // before it is due; it is sent again with an SQS delay for the rest (one extra send).
    notBefore: (task) => task.dueAt,
    process: async (task, ctx) => {
      const outcome = await deliverTask(task, tasks, () => sendCartReminder(task, ctx, effects));
      if (outcome.status !== "delivered") {
        ctx.logger.info(`task ${outcome.status}`, { taskKey: task.taskKey });
      }
      return outcome;
    },
  };
});

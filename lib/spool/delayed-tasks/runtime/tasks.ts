/**
 * Delayed tasks: "run this once, at that time, unless cancelled". This module is the runtime's
 * public API; each part lives in its own file:
 *
 * - `message.ts`: the task message a target queue receives (`TaskMessage`, `taskMessageOf`);
 * - `config.ts`: the configuration `grantScheduling` writes (`tasksConfigFromEnv`);
 * - `record.ts`: the task record and its states (`Task`, `getTask`);
 * - `schedule.ts`: `scheduleTask`, idempotent by key through a conditional put;
 * - `dispatch.ts`: the route, an SQS delay or a one-time EventBridge Scheduler schedule;
 * - `offload.ts`: a task message too large to send inline, through the payload store;
 * - `cancel.ts`: `cancelTask`, on either route;
 * - `deliver.ts`: `deliverTask`, the consumer's claim around the effect.
 */

export { type CancelOutcome, cancelTask } from "./cancel.js";
export {
  type TaskDependencies,
  type TaskRetryPolicy,
  type TasksConfig,
  tasksConfigFromEnv,
} from "./config.js";
export { deliverTask, type TaskDeliveryDependencies, type TaskDeliveryOutcome } from "./deliver.js";
export { atExpression, MAX_QUEUE_DELAY_SECONDS, scheduleNameFor } from "./dispatch.js";
export {
  MAX_TASK_MESSAGE_BYTES,
  TASK_MESSAGE_KIND,
  TaskMessage,
  type TaskRoute,
  taskMessageOf,
} from "./message.js";
export { getTask, type Task, type TaskStatus } from "./record.js";
export {
  MAX_TASK_DELAY_SECONDS,
  payloadHash,
  type ScheduledTask,
  type ScheduleTaskInput,
  scheduleTask,
} from "./schedule.js";

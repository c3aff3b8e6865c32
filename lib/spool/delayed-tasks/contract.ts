/**
 * What the DelayedTasks construct and its runtime (`runtime/tasks.ts`) agree on. SDK-free: the
 * construct imports it at synth time.
 */

/** The tasks table's key attribute and the attribute TTL removes expired records by. */
export const TASK_KEY_ATTRIBUTE = "key";
export const TASK_EXPIRY_ATTRIBUTE = "expiresAt";

/** The environment `grantScheduling` (all of it) and `grantDelivery` (the table) write. */
export const TASKS_ENV = {
  table: "SPOOL_TASKS_TABLE",
  scheduleGroup: "SPOOL_TASKS_SCHEDULE_GROUP",
  schedulerRoleArn: "SPOOL_TASKS_SCHEDULER_ROLE_ARN",
  deadLetterQueueArn: "SPOOL_TASKS_DEAD_LETTER_QUEUE_ARN",
  targets: "SPOOL_TASKS_TARGETS",
  retryPolicy: "SPOOL_TASKS_RETRY_POLICY",
  retentionSeconds: "SPOOL_TASKS_RETENTION_SECONDS",
} as const;

export interface TaskRetryPolicy {
  readonly maximumEventAgeSeconds: number;
  readonly maximumRetryAttempts: number;
}

/** What the DelayedTasks construct writes into a scheduling function's environment. */
export interface TasksConfig {
  readonly table: string;
  readonly scheduleGroup: string;
  readonly schedulerRoleArn: string;
  readonly deadLetterQueueArn: string;
  /** Queue ARNs tasks may be sent to. */
  readonly targets: readonly string[];
  readonly retryPolicy: TaskRetryPolicy;
  /** How long a task record is kept after its due time (then TTL removes it, freeing its key). */
  readonly retentionSeconds: number;
}

import { SCHEDULER_MAX_INPUT_BYTES } from "../runtime/limits.js";

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
  maxDelaySeconds: "SPOOL_TASKS_MAX_DELAY_SECONDS",
  /**
   * The tasks' PayloadStore bucket. Not the consumers' `SPOOL_PAYLOAD_BUCKET`: a function may
   * schedule tasks into one store and resolve the pointers of the messages it consumes from
   * another.
   */
  payloadBucket: "SPOOL_TASKS_PAYLOAD_BUCKET",
  offloadThresholdBytes: "SPOOL_TASKS_OFFLOAD_THRESHOLD_BYTES",
} as const;

/**
 * The largest task message (JSON, UTF-8) sent inline, whichever route the task takes: the
 * Scheduler's target-input limit, the smaller of the two (SQS takes SQS_MAX_MESSAGE_BYTES). One
 * limit for both routes, so whether a task fits never depends on how far ahead it is due. A
 * larger one needs a payload store (it then travels as a pointer).
 */
export const MAX_TASK_MESSAGE_BYTES = SCHEDULER_MAX_INPUT_BYTES;

/**
 * With a payload store, task messages above this many bytes are offloaded: by default only those
 * that could not be sent inline at all.
 */
export const DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES = MAX_TASK_MESSAGE_BYTES;

/** Spool's bound on how far ahead a task may be scheduled (the task record outlives it). */
export const MAX_TASK_DELAY_SECONDS = 365 * 86_400;

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
  /** How far ahead a task may be due. @default MAX_TASK_DELAY_SECONDS */
  readonly maxDelaySeconds?: number;
  /** The PayloadStore's bucket large task messages go to. @default - none: they are refused */
  readonly payloadBucket?: string;
  /** With `payloadBucket`: messages above this many bytes are offloaded. */
  readonly offloadThresholdBytes?: number;
}

import type { SchedulerClient } from "@aws-sdk/client-scheduler";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ConfigurationError, intEnv, jsonEnv, optionalEnv, requireEnv } from "../../runtime/env.js";
import type { PayloadObjects } from "../../runtime/payload-pointer.js";
import {
  DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES,
  MAX_TASK_DELAY_SECONDS,
  MAX_TASK_MESSAGE_BYTES,
  TASKS_ENV,
  type TaskRetryPolicy,
  type TasksConfig,
} from "../contract.js";

export type { TaskRetryPolicy, TasksConfig };

/** The configuration `DelayedTasks.grantScheduling` wrote into this function's environment. */
export function tasksConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TasksConfig {
  const setBy = "DelayedTasks.grantScheduling";
  const payloadBucket = optionalEnv(TASKS_ENV.payloadBucket, env);
  return {
    table: requireEnv(TASKS_ENV.table, setBy, env),
    scheduleGroup: requireEnv(TASKS_ENV.scheduleGroup, setBy, env),
    schedulerRoleArn: requireEnv(TASKS_ENV.schedulerRoleArn, setBy, env),
    deadLetterQueueArn: requireEnv(TASKS_ENV.deadLetterQueueArn, setBy, env),
    targets: jsonEnv<string[]>(TASKS_ENV.targets, setBy, env),
    retryPolicy: jsonEnv<TaskRetryPolicy>(TASKS_ENV.retryPolicy, setBy, env),
    retentionSeconds: intEnv(
      TASKS_ENV.retentionSeconds,
      { min: 86_400, fallback: 30 * 86_400 },
      env,
    ),
    maxDelaySeconds: intEnv(
      TASKS_ENV.maxDelaySeconds,
      { min: 1, max: MAX_TASK_DELAY_SECONDS, fallback: MAX_TASK_DELAY_SECONDS },
      env,
    ),
    ...(payloadBucket !== undefined
      ? {
          payloadBucket,
          offloadThresholdBytes: intEnv(
            TASKS_ENV.offloadThresholdBytes,
            { min: 0, max: MAX_TASK_MESSAGE_BYTES, fallback: DEFAULT_TASK_OFFLOAD_THRESHOLD_BYTES },
            env,
          ),
        }
      : {}),
  };
}

/** What scheduling and cancelling need: the clients, the configuration and a clock. */
export interface TaskDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly scheduler: SchedulerClient;
  readonly config: TasksConfig;
  readonly now: () => Date;
  /**
   * Where large task messages are written when the configuration names a payload store
   * (`config.payloadBucket`): `sharedS3PayloadObjects()` from the toolkit's
   * `payload-objects-s3.ts`. Passed in rather than defaulted, so a function without a store
   * keeps the S3 SDK out of its bundle.
   * @default - none: required with `config.payloadBucket`
   */
  readonly payloadObjects?: PayloadObjects;
}

/**
 * Refuses dependencies whose configuration names a payload store but that carry no way to write
 * to it: thrown on every scheduleTask call, not only on the first large payload, so the
 * misconfiguration shows at once.
 */
export function assertPayloadObjects(deps: TaskDependencies): void {
  if (deps.config.payloadBucket !== undefined && deps.payloadObjects === undefined) {
    throw new ConfigurationError(
      `the tasks configuration names a payload store (${TASKS_ENV.payloadBucket}=${deps.config.payloadBucket}), but the task dependencies carry no payloadObjects to write it with: pass payloadObjects: sharedS3PayloadObjects() (runtime/payload-objects-s3.ts)`,
    );
  }
}

import type { SchedulerClient } from "@aws-sdk/client-scheduler";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { intEnv, jsonEnv, requireEnv } from "../../runtime/env.js";
import { TASKS_ENV, type TaskRetryPolicy, type TasksConfig } from "../contract.js";

export type { TaskRetryPolicy, TasksConfig };

/** The configuration `DelayedTasks.grantScheduling` wrote into this function's environment. */
export function tasksConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TasksConfig {
  const setBy = "DelayedTasks.grantScheduling";
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
  };
}

/** What scheduling and cancelling need: the clients, the configuration and a clock. */
export interface TaskDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly scheduler: SchedulerClient;
  readonly config: TasksConfig;
  readonly now: () => Date;
}

import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import type {
  TaskDependencies,
  TasksConfig,
} from "../../lib/spool/delayed-tasks/runtime/config.js";
import type { TaskDeliveryDependencies } from "../../lib/spool/delayed-tasks/runtime/deliver.js";
import type { ScheduleTaskInput } from "../../lib/spool/delayed-tasks/runtime/schedule.js";

/** Fakes for the delayed-tasks runtime's unit tests: mocked clients, a fixed clock, a config. */

export const NOW = new Date("2026-03-01T10:00:00.000Z");
export const STANDARD = "arn:aws:sqs:us-east-1:111111111111:reminders";
export const FIFO = "arn:aws:sqs:us-east-1:111111111111:expiries.fifo";
export const CONFIG: TasksConfig = {
  table: "tasks",
  scheduleGroup: "spool-tasks",
  schedulerRoleArn: "arn:aws:iam::111111111111:role/scheduler",
  deadLetterQueueArn: "arn:aws:sqs:us-east-1:111111111111:tasks-dlq",
  targets: [STANDARD, FIFO],
  retryPolicy: { maximumEventAgeSeconds: 86_400, maximumRetryAttempts: 185 },
  retentionSeconds: 30 * 86_400,
};

export const db = mockClient(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
);
export const sqs = mockClient(new SQSClient({ region: "us-east-1" }));
export const scheduler = mockClient(new SchedulerClient({ region: "us-east-1" }));

export function resetTaskFakes(): void {
  db.reset();
  sqs.reset();
  scheduler.reset();
}

export function taskDeps(): TaskDependencies {
  return {
    db: db as unknown as DynamoDBDocumentClient,
    sqs: sqs as unknown as SQSClient,
    scheduler: scheduler as unknown as SchedulerClient,
    config: CONFIG,
    now: () => NOW,
  };
}

export function deliveryDeps(): TaskDeliveryDependencies {
  return { db: db as unknown as DynamoDBDocumentClient, table: "tasks", now: () => NOW };
}

/** A failed condition, with the old item as DynamoDB returns it (or none, as some emulators). */
export function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(item ? { Item: marshall(item, { removeUndefinedValues: true }) } : {}),
  });
}

export const scheduleInput = (overrides: Partial<ScheduleTaskInput> = {}): ScheduleTaskInput => ({
  key: "reminder-1",
  delay: 60,
  payload: { orderId: "o-1" },
  target: STANDARD,
  correlationId: "corr-1",
  ...overrides,
});

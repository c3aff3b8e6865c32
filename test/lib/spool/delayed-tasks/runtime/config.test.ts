import { describe, expect, it } from "vitest";
import { TASKS_ENV } from "../../../../../lib/spool/delayed-tasks/contract.js";
import { tasksConfigFromEnv } from "../../../../../lib/spool/delayed-tasks/runtime/config.js";

const env = {
  [TASKS_ENV.table]: "tasks",
  [TASKS_ENV.scheduleGroup]: "group",
  [TASKS_ENV.schedulerRoleArn]: "arn:aws:iam::111111111111:role/scheduler",
  [TASKS_ENV.deadLetterQueueArn]: "arn:aws:sqs:us-east-1:111111111111:dlq",
  [TASKS_ENV.targets]: '["arn:aws:sqs:us-east-1:111111111111:reminders"]',
  [TASKS_ENV.retryPolicy]: '{"maximumEventAgeSeconds":3600,"maximumRetryAttempts":3}',
};

describe("tasksConfigFromEnv", () => {
  it("reads what grantScheduling wrote, retention defaulting to 30 days", () => {
    expect(tasksConfigFromEnv(env)).toEqual({
      table: "tasks",
      scheduleGroup: "group",
      schedulerRoleArn: "arn:aws:iam::111111111111:role/scheduler",
      deadLetterQueueArn: "arn:aws:sqs:us-east-1:111111111111:dlq",
      targets: ["arn:aws:sqs:us-east-1:111111111111:reminders"],
      retryPolicy: { maximumEventAgeSeconds: 3600, maximumRetryAttempts: 3 },
      retentionSeconds: 30 * 86_400,
    });
  });

  it("names a missing variable and who sets it", () => {
    const { [TASKS_ENV.scheduleGroup]: _missing, ...rest } = env;
    expect(() => tasksConfigFromEnv(rest)).toThrow(
      /SPOOL_TASKS_SCHEDULE_GROUP[\s\S]*DelayedTasks.grantScheduling/,
    );
  });
});

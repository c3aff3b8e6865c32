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
      maxDelaySeconds: 365 * 86_400,
    });
  });

  it("reads the payload store, its threshold defaulting to 256 KiB, and maxDelay", () => {
    const config = tasksConfigFromEnv({
      ...env,
      [TASKS_ENV.payloadBucket]: "task-payloads",
      [TASKS_ENV.maxDelaySeconds]: "172800",
    });
    expect(config).toMatchObject({
      payloadBucket: "task-payloads",
      offloadThresholdBytes: 262_144,
      maxDelaySeconds: 172_800,
    });
    expect(
      tasksConfigFromEnv({
        ...env,
        [TASKS_ENV.payloadBucket]: "task-payloads",
        [TASKS_ENV.offloadThresholdBytes]: "0",
      }).offloadThresholdBytes,
    ).toBe(0);
    expect(() =>
      tasksConfigFromEnv({
        ...env,
        [TASKS_ENV.payloadBucket]: "b",
        [TASKS_ENV.offloadThresholdBytes]: "262145",
      }),
    ).toThrow(/SPOOL_TASKS_OFFLOAD_THRESHOLD_BYTES must be an integer from 0 to 262144/);
  });

  it("names a missing variable and who sets it", () => {
    const { [TASKS_ENV.scheduleGroup]: _missing, ...rest } = env;
    expect(() => tasksConfigFromEnv(rest)).toThrow(
      /SPOOL_TASKS_SCHEDULE_GROUP[\s\S]*DelayedTasks.grantScheduling/,
    );
  });
});

import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from "@aws-sdk/client-cloudformation";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, expect, vi } from "vitest";
import type { TasksConfig } from "../../lib/spool/delayed-tasks/runtime/tasks.js";
import type { JobDefinition } from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { spool } from "./cli.js";

/**
 * The deployed stack the jobs, schedules, backfill and runs commands find first: its outputs name
 * the jobs table, the delayed tasks' configuration and two recurring jobs. One copy, so the
 * command tests agree on what they run against.
 */

export const TASKS: TasksConfig = {
  table: "tasks-table",
  scheduleGroup: "tasks-group",
  schedulerRoleArn: "arn:aws:iam::000000000000:role/scheduler",
  deadLetterQueueArn: "arn:aws:sqs:us-east-1:000000000000:tasks-dlq",
  targets: ["arn:aws:sqs:us-east-1:000000000000:cart-reminders"],
  retryPolicy: { maximumEventAgeSeconds: 86_400, maximumRetryAttempts: 185 },
  retentionSeconds: 30 * 86_400,
};

export const NIGHTLY: JobDefinition = {
  name: "nightly-reconciliation",
  schedule: "cron(0 2 * * ? *)",
  timeZone: "Europe/Berlin",
  maxLatenessSeconds: 6 * 3_600,
  overlap: "skip-if-running",
  maxRunSeconds: 600,
  runsTable: "runs-table",
  queueArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
  scheduleName: "nightly-reconciliation",
  scheduleGroup: "jobs-group",
  retentionSeconds: 90 * 86_400,
};
export const PROBE: JobDefinition = {
  ...NIGHTLY,
  name: "overlap-probe",
  schedule: "rate(1 hour)",
  timeZone: "UTC",
  scheduleName: "overlap-probe",
};

/** Makes a stubbed CloudFormation answer as the Spool stack above, with no resources. */
export function answerAsSpoolStack(cfn: AwsClientStub<CloudFormationClient>): void {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "Spool",
        CreationTime: new Date(),
        StackStatus: "CREATE_COMPLETE",
        Outputs: [
          { OutputKey: "JobsTableName", OutputValue: "jobs-table" },
          { OutputKey: "DelayedTasksConfig", OutputValue: JSON.stringify(TASKS) },
          {
            OutputKey: "RecurringJobs",
            OutputValue: JSON.stringify({ [NIGHTLY.name]: NIGHTLY, [PROBE.name]: PROBE }),
          },
        ],
      },
    ],
  });
  cfn.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify({ Resources: {} }) });
}

/**
 * Stubs every client the jobs, schedules, backfill and runs commands use, for the calling test
 * file: each test starts with no behaviour and no recorded calls but the stack's answers, and
 * with real timers. Call it once, at the top of the file (a second call replaces the stubs).
 */
export function stubSpoolStack() {
  const stubs = {
    cfn: mockClient(CloudFormationClient),
    db: mockClient(DynamoDBDocumentClient),
    sfn: mockClient(SFNClient),
    scheduler: mockClient(SchedulerClient),
    sqs: mockClient(SQSClient),
  };
  beforeEach(() => {
    for (const stub of Object.values(stubs)) stub.reset();
    answerAsSpoolStack(stubs.cfn);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return stubs;
}

/** A usage error: non-zero, one line on stderr, nothing on stdout, and no AWS call at all. */
export async function expectRefusedBeforeAws(
  argv: string[],
  message: RegExp,
  cfn: AwsClientStub<CloudFormationClient>,
): Promise<void> {
  const { code, err, out } = await spool(...argv);
  expect(code).not.toBe(0);
  expect(err).toMatch(message);
  expect(err.trim().split("\n")).toHaveLength(1);
  expect(out).toBe("");
  expect(cfn.calls()).toHaveLength(0);
}

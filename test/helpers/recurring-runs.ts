import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type {
  JobDefinition,
  RunMessage,
} from "../../lib/spool/recurring-job/runtime/recurring-jobs.js";

/** Unit-test fixtures of recurring runs: one nightly job in Berlin, a delivery five seconds late. */

export const NOW = new Date("2026-03-02T01:00:05.000Z");

export const JOB: JobDefinition = {
  name: "nightly",
  schedule: "cron(0 2 * * ? *)",
  timeZone: "Europe/Berlin",
  maxLatenessSeconds: 3_600,
  overlap: "allow",
  maxRunSeconds: 600,
  runsTable: "runs",
  queueArn: "arn:aws:sqs:us-east-1:111111111111:jobs",
  scheduleName: "nightly",
  scheduleGroup: "default",
  retentionSeconds: 90 * 86_400,
};

/** A refused conditional write, returning `item` as ALL_OLD when given. */
export function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(item ? { Item: marshall(item) } : {}),
  });
}

export const runMessage = (overrides: Partial<RunMessage> = {}): RunMessage => ({
  kind: "spool.recurring-run",
  schemaVersion: 1,
  job: "nightly",
  scheduledTime: "2026-03-02T01:00:00.000Z",
  source: "schedule",
  ...overrides,
});

export const runMeta = { sentAt: new Date("2026-03-02T01:00:03Z"), correlationId: "corr-1" };

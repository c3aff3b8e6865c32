import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { renderJobCancel, renderJobReport } from "../../../../tools/cli/commands/jobs.js";
import type {
  JobCancelFinished,
  JobCancelStarted,
} from "../../../../tools/cli/lib/change-audits.js";
import { cancelJobAudited } from "../../../../tools/cli/lib/job-cancel.js";
import { spool } from "../../../helpers/cli.js";

const db = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ARN = "arn:aws:states:us-east-1:000000000000:execution:Fulfilment:o-42";

function job(extra: Partial<JobRecord>): JobRecord {
  return {
    jobId: "chunked-job:j-1",
    status: "RUNNING",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:05.000Z",
    transitions: [],
    ...extra,
  };
}

function audit() {
  const started: JobCancelStarted[] = [];
  const finished: JobCancelFinished[] = [];
  return {
    started,
    finished,
    audit: {
      started: async (r: JobCancelStarted) => void started.push(r),
      finished: async (_id: string, r: JobCancelFinished) => void finished.push(r),
    },
  };
}

function deps(a: ReturnType<typeof audit>["audit"]) {
  return {
    jobs: {
      db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
      table: "jobs",
    },
    sfn: new SFNClient({ region: "us-east-1" }),
    audit: a,
    operator: { principal: "arn:aws:iam::000000000000:user/ops", localUser: "ops" },
    stack: "Spool",
  };
}

beforeEach(() => {
  db.reset();
  sfn.reset();
});

describe("spool jobs cancel: arguments", () => {
  it.each([
    [["jobs", "cancel"], /missing required argument 'id'/],
    [["jobs", "cancel", "j-1"], /a job id is <kind>:<business key>.*got "j-1"/],
    [["jobs", "cancel", "  "], /<id> must not be empty/],
    [["jobs", "cancel", "chunked-job:j-1", "--reason", " "], /--reason must be 1 to 500/],
  ])("exits 2 with one line for %j", async (argv, message) => {
    const { code, err } = await spool(...argv);
    expect(code).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message);
  });
});

describe("cancelJobAudited", () => {
  it("cancels a running queue job, audited before and after, and stops nothing", async () => {
    db.on(GetCommand).resolves({ Item: job({}) });
    db.on(UpdateCommand).resolves({ Attributes: {} });
    const a = audit();
    const outcome = await cancelJobAudited("chunked-job:j-1", "not needed", deps(a.audit));
    expect(outcome).toMatchObject({
      jobId: "chunked-job:j-1",
      before: "RUNNING",
      after: "CANCELED",
    });
    expect(
      db.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues,
    ).toMatchObject({ ":to": "CANCELED" });
    expect(sfn.commandCalls(StopExecutionCommand)).toEqual([]);
    expect(a.started[0]).toMatchObject({
      jobId: "chunked-job:j-1",
      before: "RUNNING",
      reason: "not needed",
    });
    expect(a.finished[0]).toMatchObject({ status: "completed", after: "CANCELED" });
    expect(renderJobCancel(outcome)).toContain("stops at its next cancelled() check");
  });

  it("stops a workflow job's execution after the cancel (a stop runs no compensation)", async () => {
    db.on(GetCommand).resolves({
      Item: job({ jobId: "order-fulfilment:o-42", executionArn: ARN }),
    });
    db.on(UpdateCommand).resolves({ Attributes: {} });
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const a = audit();
    const outcome = await cancelJobAudited("order-fulfilment:o-42", "wrong order", deps(a.audit));
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: ARN,
      error: "JOB_CANCELED",
      cause: "wrong order",
    });
    expect(outcome.execution).toEqual({ executionArn: ARN, stopped: true });
    expect(a.finished[0]).toMatchObject({ status: "completed", executionStopped: true });
    expect(renderJobCancel(outcome)).toContain("a stop runs no compensation");
  });

  it.each(["SUCCEEDED", "DEAD_LETTERED", "CANCELED", "COMPENSATING"] as const)(
    "refuses a %s job with a clear message, touching nothing",
    async (status) => {
      db.on(GetCommand).resolves({ Item: job({ status }) });
      const a = audit();
      await expect(cancelJobAudited("chunked-job:j-1", "x", deps(a.audit))).rejects.toThrow(
        status === "COMPENSATING"
          ? /is COMPENSATING: .* wait for COMPENSATED or FAILED/
          : new RegExp(`is ${status}: a finished job cannot be canceled`),
      );
      expect(db.commandCalls(UpdateCommand)).toEqual([]);
      expect(a.started).toEqual([]);
    },
  );

  it("refuses an unknown job, and records a job that finished while being canceled", async () => {
    db.on(GetCommand).resolves({});
    await expect(cancelJobAudited("chunked-job:nope", "x", deps(audit().audit))).rejects.toThrow(
      "no job chunked-job:nope in jobs",
    );
    db.reset();
    db.on(GetCommand)
      .resolvesOnce({ Item: job({}) })
      .resolvesOnce({ Item: job({ status: "SUCCEEDED" }) });
    db.on(UpdateCommand).rejects(
      new ConditionalCheckFailedException({ message: "no", $metadata: {} }),
    );
    const a = audit();
    await expect(cancelJobAudited("chunked-job:j-1", "x", deps(a.audit))).rejects.toThrow(
      /moved to SUCCEEDED while being canceled: it was not canceled/,
    );
    expect(a.finished[0]).toMatchObject({ status: "refused", after: "SUCCEEDED" });
  });
});

describe("spool jobs show", () => {
  it("prints a queue job's progress: done/total, note and when", () => {
    const text = renderJobReport({
      jobId: "chunked-job:j-1",
      job: job({
        progress: { done: 4, total: 10, note: "chunk 4 of 10", at: "2026-01-01T00:00:04.000Z" },
      }),
      timeline: [],
    } as never);
    expect(text).toContain("progress:       4/10 (chunk 4 of 10) at 2026-01-01T00:00:04.000Z");
  });
});

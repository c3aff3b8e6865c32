import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import {
  DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { renderJobCancel, renderJobReport } from "../../../../tools/cli/commands/jobs.js";
import type {
  JobCancelFinished,
  JobCancelStarted,
} from "../../../../tools/cli/lib/change-audits.js";
import { cancelJobAudited } from "../../../../tools/cli/lib/job-cancel.js";
import { spool } from "../../../helpers/cli.js";
import { expectRefusedBeforeAws, stubSpoolStack } from "../../../helpers/cli-stack.js";

const { cfn, db, sfn } = stubSpoolStack();
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

describe("spool jobs: argument parsing", () => {
  it.each([
    [["jobs", "show"], /^spool: missing required argument 'id' \(see spool --help\)\n$/],
    [
      ["jobs", "list", "--status", "DONE"],
      /--status must be one of PENDING, RUNNING, .*got "DONE"/,
    ],
    [["jobs", "list", "--scan-limit", "0"], /--scan-limit must be an integer from 1 to 1000000/],
  ])("refuses %j in one line, before calling AWS", (argv, message) =>
    expectRefusedBeforeAws(argv, message, cfn),
  );
});

const JOB: JobRecord = {
  jobId: "order-fulfilment:o-42",
  kind: "order-fulfilment",
  businessKey: "o-42",
  status: "COMPENSATED",
  createdAt: "2026-11-28T10:00:00.000Z",
  updatedAt: "2026-11-28T10:00:01.500Z",
  startedAt: "2026-11-28T10:00:00.200Z",
  finishedAt: "2026-11-28T10:00:01.500Z",
  attempts: 1,
  lastError: {
    error: "PAYMENT_DECLINED",
    cause: "charges above 1000.00 EUR are declined",
    step: "chargePayment",
    kind: "rejected",
    at: "2026-11-28T10:00:00.900Z",
  },
  correlationId: "corr-42",
  messageId: "m-42",
  executionArn: "arn:aws:states:us-east-1:000000000000:execution:Fulfilment:o-42",
  transitions: [
    { status: "PENDING", at: "2026-11-28T10:00:00.000Z", by: "starter" },
    { status: "RUNNING", at: "2026-11-28T10:00:00.200Z", by: "workflow" },
    { status: "COMPENSATING", at: "2026-11-28T10:00:00.900Z", by: "workflow" },
    { status: "COMPENSATED", at: "2026-11-28T10:00:01.500Z", by: "workflow" },
  ],
};

function history(): HistoryEvent[] {
  const at = (ms: number) => new Date(Date.parse("2026-11-28T10:00:00.000Z") + ms);
  let id = 0;
  const task = (name: string, from: number, to: number, output?: string, failures = 0) => [
    {
      id: ++id,
      type: "TaskStateEntered",
      timestamp: at(from),
      stateEnteredEventDetails: { name },
    },
    ...Array.from({ length: failures }, () => ({
      id: ++id,
      type: "TaskFailed",
      timestamp: at(from + 10),
      taskFailedEventDetails: { error: "Runtime.HandlerError", cause: "provider timed out" },
    })),
    ...(output
      ? [
          {
            id: ++id,
            type: "TaskSucceeded",
            timestamp: at(to),
            taskSucceededEventDetails: { output },
          },
        ]
      : []),
    { id: ++id, type: "TaskStateExited", timestamp: at(to), stateExitedEventDetails: { name } },
  ];
  return [
    ...task("Record RUNNING", 200, 250),
    ...task("reserveInventory", 300, 400, JSON.stringify({ outcome: "ok" })),
    ...task(
      "chargePayment",
      400,
      900,
      JSON.stringify({ outcome: "rejected", code: "PAYMENT_DECLINED", reason: "declined" }),
      1,
    ),
    ...task("Undo reserveInventory", 1_000, 1_400, JSON.stringify({ outcome: "ok" })),
  ] as HistoryEvent[];
}

describe("spool jobs", () => {
  it("show: status, timestamps, attempts, last error, correlation id, timeline and steps", async () => {
    db.on(GetCommand, { TableName: "jobs-table", Key: { jobId: JOB.jobId } }).resolves({
      Item: JOB,
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: JOB.executionArn,
      stateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:Fulfilment",
      name: "o-42",
      status: "FAILED",
      startDate: new Date("2026-11-28T10:00:00.100Z"),
      stopDate: new Date("2026-11-28T10:00:01.600Z"),
      error: "COMPENSATED",
      cause: '{"step":"chargePayment"}',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history() });

    const { code, out, err } = await spool("jobs", "show", "o-42", "--kind", "order-fulfilment");
    expect(code, err).toBe(0);
    for (const line of [
      "Job order-fulfilment:o-42: COMPENSATED",
      "kind:           order-fulfilment",
      "started:        2026-11-28T10:00:00.200Z",
      "finished:       2026-11-28T10:00:01.500Z (1 s after it started)",
      "attempts:       1",
      "last error:     PAYMENT_DECLINED at chargePayment (rejected): charges above 1000.00 EUR are declined",
      "correlation id: corr-42",
      `execution:      ${JOB.executionArn} (FAILED: COMPENSATED)`,
      "Steps of execution o-42 (FAILED):",
      'ended 2026-11-28T10:00:01.600Z: FAILED COMPENSATED ({"step":"chargePayment"})',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toMatch(/\+ms\s+by\s+event/);
    expect(out).toMatch(/2026-11-28T10:00:00.900Z\s+900\s+job\s+COMPENSATING/);
    expect(out).toMatch(
      /chargePayment\s+2026-11-28T10:00:00.400Z\s+500 ms\s+rejected PAYMENT_DECLINED\s+1\s+Runtime.HandlerError: provider timed out/,
    );
    expect(out).toMatch(/Undo reserveInventory\s+\S+\s+400 ms\s+ok/);

    const json = (await spool("jobs", "show", "order-fulfilment:o-42", "--json")).json;
    expect(json.job).toEqual(JOB);
    expect(json.execution).toMatchObject({ status: "FAILED", error: "COMPENSATED" });
    expect(json.timeline.at(-1)).toMatchObject({ event: "execution FAILED" });
  });

  it("show: a missing job is one line naming the table and how job ids look", async () => {
    db.on(GetCommand).resolves({});
    const { code, err, out } = await spool("jobs", "show", "o-404");
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      "spool: no job o-404 in jobs-table: a job id is <kind>:<business key> (e.g. order-fulfilment:o-404), or pass --kind <kind> with the business key\n",
    );
    expect((await spool("jobs", "show", "x", "--table", "elsewhere")).err).toMatch(
      /^spool: no job x in elsewhere/,
    );
  });

  it("list: reads a bounded number of items, filters by status, says when it stopped early", async () => {
    const job = (n: number, status = "FAILED") => ({
      ...JOB,
      jobId: `order-fulfilment:o-${n}`,
      status,
      updatedAt: `2026-11-28T10:0${n}:00.000Z`,
    });
    db.on(ScanCommand)
      .resolvesOnce({ Items: [job(1)], ScannedCount: 200, LastEvaluatedKey: { jobId: "a" } })
      .resolvesOnce({ Items: [job(3)], ScannedCount: 200, LastEvaluatedKey: { jobId: "b" } })
      .resolves({ Items: [job(2)], ScannedCount: 100, LastEvaluatedKey: { jobId: "c" } });
    const { code, out, err } = await spool(
      "jobs",
      "list",
      "--status",
      "failed",
      "--status",
      "dead_lettered",
      "--scan-limit",
      "500",
    );
    expect(code, err).toBe(0);
    const scans = db.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(scans.map((s) => s.Limit)).toEqual([200, 200, 100]);
    expect(scans[0]).toMatchObject({
      TableName: "jobs-table",
      FilterExpression: "#status IN (:s0, :s1)",
      ExpressionAttributeValues: { ":s0": "FAILED", ":s1": "DEAD_LETTERED" },
    });
    expect(scans[0]?.ProjectionExpression).not.toContain("transitions");
    expect(scans[1]?.ExclusiveStartKey).toEqual({ jobId: "a" });
    // Newest first among those read.
    expect(out.indexOf("o-3")).toBeLessThan(out.indexOf("o-2"));
    expect(out.indexOf("o-2")).toBeLessThan(out.indexOf("o-1"));
    expect(out).toContain(
      "read 500 items of jobs-table and stopped: more jobs may match (raise --scan-limit or --limit).",
    );
  });

  it("list: stops reading once --limit jobs match", async () => {
    db.on(ScanCommand).resolves({
      Items: [JOB, { ...JOB, jobId: "order-fulfilment:o-43" }],
      ScannedCount: 2,
      LastEvaluatedKey: { jobId: "x" },
    });
    const { json } = await spool("jobs", "list", "--limit", "2", "--json");
    expect(db.commandCalls(ScanCommand)).toHaveLength(1);
    expect(json).toMatchObject({ examined: 2, truncated: true });
    expect(json.jobs).toHaveLength(2);
  });
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { JobRecord } from "../../../../lib/spool/job-table/runtime/jobs.js";
import { renderJobAnswer, renderJobReport } from "../../../../tools/cli/commands/jobs.js";
import type {
  JobAnswerFinished,
  JobAnswerStarted,
} from "../../../../tools/cli/lib/change-audits.js";
import { answerJobAudited } from "../../../../tools/cli/lib/job-answer.js";
import { spool } from "../../../helpers/cli.js";

const db = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ARN = "arn:aws:states:us-east-1:000000000000:execution:Approval:r-1";
const TOKEN = "secret-token-AAAA";

function job(extra: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: "approval:r-1",
    status: "RUNNING",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:05.000Z",
    executionArn: ARN,
    waiting: { step: "approval", execution: ARN, taskToken: TOKEN, since: "2026-01-01T00:00:04Z" },
    transitions: [],
    ...extra,
  };
}

function deps() {
  const started: JobAnswerStarted[] = [];
  const finished: JobAnswerFinished[] = [];
  return {
    started,
    finished,
    deps: {
      jobs: {
        db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
        table: "jobs",
      },
      sfn: new SFNClient({ region: "us-east-1" }),
      audit: {
        started: async (r: JobAnswerStarted) => void started.push(r),
        finished: async (_id: string, r: JobAnswerFinished) => void finished.push(r),
      },
      operator: { principal: "arn:aws:iam::000000000000:user/ops", localUser: "ops" },
      stack: "Spool",
    },
  };
}

beforeEach(() => {
  db.reset();
  sfn.reset();
});

describe("spool jobs approve|reject: arguments", () => {
  it.each([
    [["jobs", "approve"], /missing required argument 'id'/],
    [["jobs", "approve", "r-1"], /a job id is <kind>:<business key>.*got "r-1"/],
    [["jobs", "reject", "approval:r-1"], /required option '--reason <text>' not specified/],
    [["jobs", "reject", "approval:r-1", "--reason", "  "], /--reason must be 1 to 500/],
    [["jobs", "approve", " ", "--reason", "ok"], /<id> must not be empty/],
    [["jobs", "approve", "approval:r-1", "--reason", "x".repeat(501)], /--reason must be 1 to 500/],
  ])("exits 2 with one line for %j", async (argv, message) => {
    const { code, err } = await spool(...argv);
    expect(code).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message);
  });
});

describe("answerJobAudited", () => {
  it("approves with the parked token, clears it, and audits without it", async () => {
    db.on(GetCommand).resolves({ Item: job() });
    db.on(UpdateCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const d = deps();
    const outcome = await answerJobAudited("approval:r-1", { approve: true, reason: "ok" }, d.deps);
    expect(outcome).toMatchObject({ jobId: "approval:r-1", answer: "approve", step: "approval" });
    const sent = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(sent?.taskToken).toBe(TOKEN);
    expect(JSON.parse(sent?.output ?? "")).toMatchObject({
      outcome: "ok",
      approvedBy: "arn:aws:iam::000000000000:user/ops",
    });
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: "REMOVE #waiting",
      ExpressionAttributeValues: { ":token": TOKEN },
    });
    expect(d.started[0]).toMatchObject({ answer: "approve", step: "approval", executionArn: ARN });
    expect(d.finished[0]).toMatchObject({ status: "completed" });
    // The token is a capability: never in the audit, the outcome or what is printed.
    expect(
      JSON.stringify([d.started, d.finished, outcome, renderJobAnswer(outcome)]),
    ).not.toContain(TOKEN);
  });

  it("rejects with SendTaskFailure Spool.Rejected and the reason", async () => {
    db.on(GetCommand).resolves({ Item: job() });
    db.on(UpdateCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    const outcome = await answerJobAudited(
      "approval:r-1",
      { approve: false, reason: "no budget" },
      deps().deps,
    );
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toMatchObject({
      taskToken: TOKEN,
      error: "Spool.Rejected",
      cause: "rejected by arn:aws:iam::000000000000:user/ops: no budget",
    });
    expect(renderJobAnswer(outcome)).toContain("compensates its completed steps");
  });

  it.each([
    ["an unknown job", undefined, /no job approval:r-1 in jobs/],
    [
      "a job waiting for nothing",
      job({ waiting: undefined }),
      /is RUNNING and waits for no answer: nothing to approve/,
    ],
    [
      "a job whose step timed out",
      job({ status: "COMPENSATED" }),
      /is COMPENSATED \(its step approval stopped waiting\) and waits for no answer/,
    ],
  ])("refuses %s with one line (exit 1), sending nothing", async (_what, item, message) => {
    db.on(GetCommand).resolves({ Item: item });
    const d = deps();
    const error = await answerJobAudited("approval:r-1", { approve: true }, d.deps).catch((e) => e);
    expect(error).toMatchObject({ name: "SpoolCliError", exitCode: 1 });
    expect(error.message).toMatch(message);
    expect(sfn.calls()).toEqual([]);
    expect(d.started).toEqual([]);
  });

  it("reports a step that stopped waiting meanwhile (a duplicate answer, a timeout): nothing changed", async () => {
    db.on(GetCommand).resolves({ Item: job() });
    db.on(UpdateCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: "late", $metadata: {} }));
    const d = deps();
    await expect(answerJobAudited("approval:r-1", { approve: true }, d.deps)).rejects.toThrow(
      /step approval no longer waits .*nothing was approved/,
    );
    expect(d.finished[0]).toMatchObject({ status: "not-waiting" });
  });

  it("audits a failed answer and lets the error through", async () => {
    db.on(GetCommand).resolves({ Item: job() });
    sfn.on(SendTaskSuccessCommand).rejects(new Error("AccessDeniedException"));
    const d = deps();
    await expect(answerJobAudited("approval:r-1", { approve: true }, d.deps)).rejects.toThrow(
      "AccessDenied",
    );
    expect(d.finished[0]).toMatchObject({ status: "failed" });
    expect(db.commandCalls(UpdateCommand)).toEqual([]);
  });
});

describe("spool jobs show of a waiting job", () => {
  it("says which step waits and how to answer it", () => {
    const text = renderJobReport({
      jobId: "approval:r-1",
      job: job(),
      execution: undefined,
      timeline: [],
    });
    expect(text).toMatch(
      /waiting: +approval since 2026-01-01T00:00:04Z: spool jobs approve\|reject approval:r-1/,
    );
  });
});

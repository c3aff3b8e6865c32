import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { transitionCondition } from "../../../../../lib/spool/job-table/job-states.js";
import { reportJobProgress } from "../../../../../lib/spool/job-table/runtime/jobs.js";
import { queueJobs, queueJobsIn } from "../../../../../lib/spool/job-table/runtime/queue-jobs.js";
import { ConfigurationError } from "../../../../../lib/spool/runtime/env.js";

const ddb = mockClient(DynamoDBDocumentClient);
const store = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "jobs",
  now: () => new Date("2026-01-02T03:04:05.000Z"),
};
const delivery = { messageId: "m-1", correlationId: "c-1", attempt: 2 };
const conflict = () => new ConditionalCheckFailedException({ message: "no", $metadata: {} });
/** The job's status as a consistent read finds it after a refused move. */
const found = (status: string) =>
  ddb.on(GetCommand).resolves({ Item: { jobId: "export:e-1", status, transitions: [] } });
const updates = () => ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);

beforeEach(() => ddb.reset());

describe("queueJobsIn: the job table behind a consumer's job tracking", () => {
  const jobs = queueJobsIn(store, "export");

  it("names a message's job <kind>:<key>", () => {
    expect(jobs.jobId("e-1")).toBe("export:e-1");
  });

  it("starts a job with a counted attempt under the RUNNING condition, with its identity", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    expect(await jobs.start("export:e-1", "e-1", delivery)).toEqual({ outcome: "run" });
    const input = updates()[0];
    expect(input?.ConditionExpression).toBe(transitionCondition("RUNNING").expression);
    expect(input?.UpdateExpression).toContain("ADD #attempts :one");
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":to": "RUNNING",
      ":kind": "export",
      ":businessKey": "e-1",
      ":messageId": "m-1",
    });
  });

  it("answers what a refused start found: canceled, finished, or still RUNNING (run again)", async () => {
    ddb.on(UpdateCommand).rejects(conflict());
    found("CANCELED");
    expect(await jobs.start("export:e-1", "e-1", delivery)).toEqual({ outcome: "canceled" });
    found("SUCCEEDED");
    expect(await jobs.start("export:e-1", "e-1", delivery)).toEqual({
      outcome: "finished",
      status: "SUCCEEDED",
    });
    found("RUNNING");
    expect(await jobs.start("export:e-1", "e-1", delivery)).toEqual({ outcome: "run" });
  });

  it("reopens a DEAD_LETTERED job as PENDING before running it (a replay)", async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(conflict())
      .resolvesOnce({ Attributes: {} })
      .resolvesOnce({ Attributes: {} });
    found("DEAD_LETTERED");
    expect(await jobs.start("export:e-1", "e-1", delivery)).toEqual({ outcome: "run" });
    expect(updates().map((u) => u.ExpressionAttributeValues?.[":to"])).toEqual([
      "RUNNING",
      "PENDING",
      "RUNNING",
    ]);
  });

  it("succeeds only from RUNNING, and reports a cancel that came first", async () => {
    ddb.on(UpdateCommand).rejects(conflict());
    found("CANCELED");
    expect(await jobs.succeed("export:e-1", delivery)).toEqual({ ok: false, status: "CANCELED" });
    expect(updates()[0]?.ConditionExpression).toBe(
      transitionCondition("SUCCEEDED", ["RUNNING"]).expression,
    );
  });

  it("records a failure with its code; a move the job refuses is left alone", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    await jobs.failed("export:e-1", "DEAD_LETTERED", delivery, {
      code: "SCHEMA_INVALID",
      message: "bad",
      reason: "permanent-failure",
    });
    expect(updates()[0]?.ExpressionAttributeValues).toMatchObject({
      ":to": "DEAD_LETTERED",
      ":lastError": { error: "SCHEMA_INVALID", cause: "bad", kind: "permanent-failure" },
    });
    ddb.on(UpdateCommand).rejects(conflict());
    found("CANCELED");
    await expect(
      jobs.failed("export:e-1", "RETRYING", delivery, { code: "X", message: "x" }),
    ).resolves.toBeUndefined();
  });

  it("reads a cancel consistently", async () => {
    found("CANCELED");
    expect(await jobs.isCanceled("export:e-1")).toBe(true);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
    found("RUNNING");
    expect(await jobs.isCanceled("export:e-1")).toBe(false);
  });

  it("needs the table the QueueConsumer's jobs prop writes, or fails at init", () => {
    expect(() => queueJobs(store.db, {})).toThrow(ConfigurationError);
    expect(
      queueJobs(store.db, {
        SPOOL_JOBS_TABLE: "jobs",
        SPOOL_JOB_KIND: "export",
      }).jobId("e-1"),
    ).toBe("export:e-1");
  });
});

describe("reportJobProgress", () => {
  it("writes progress only while the job is RUNNING, and says when it was not", async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conflict());
    expect(await reportJobProgress(store, "export:e-1", { done: 3, total: 10, note: "n" })).toBe(
      true,
    );
    const input = updates()[0];
    expect(input?.ConditionExpression).toBe("#status = :running");
    expect(input?.ExpressionAttributeValues).toEqual({
      ":progress": { done: 3, total: 10, note: "n", at: "2026-01-02T03:04:05.000Z" },
      ":at": "2026-01-02T03:04:05.000Z",
      ":running": "RUNNING",
    });
    expect(input?.ReturnValues).toBeUndefined();
    // Canceled or finished: the report changes nothing.
    expect(await reportJobProgress(store, "export:e-1", { done: 4, total: 10 })).toBe(false);
  });
});

import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { transitionCondition } from "../../../../../lib/spool/job-table/job-states.js";
import {
  cancelJob,
  getJob,
  IllegalJobTransitionError,
  transitionJob,
} from "../../../../../lib/spool/job-table/runtime/jobs.js";

const ddb = mockClient(DynamoDBDocumentClient);
const store = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  table: "jobs",
  now: () => new Date("2026-01-02T03:04:05.000Z"),
};

beforeEach(() => ddb.reset());

describe("transitionJob", () => {
  it("writes the status, its history entry and the given fields under the transition's condition", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { jobId: "k:1", status: "PENDING" } });
    const job = await transitionJob(store, {
      jobId: "k:1",
      to: "PENDING",
      by: "starter",
      kind: "k",
      businessKey: "1",
      correlationId: "c-1",
      messageId: "m-1",
    });
    expect(job.status).toBe("PENDING");
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ jobId: "k:1" });
    expect(input?.ConditionExpression).toBe(transitionCondition("PENDING").expression);
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":to": "PENDING",
      ":at": "2026-01-02T03:04:05.000Z",
      ":entry": [{ status: "PENDING", at: "2026-01-02T03:04:05.000Z", by: "starter", ref: "m-1" }],
      ":kind": "k",
      ":businessKey": "1",
      ":correlationId": "c-1",
      ":messageId": "m-1",
    });
    // Identity is written once; the latest message is always recorded.
    expect(input?.UpdateExpression).toContain("#kind = if_not_exists(#kind, :kind)");
    expect(input?.UpdateExpression).toContain("#messageId = :messageId");
    expect(input?.ExpressionAttributeValues).not.toHaveProperty(":one");
  });

  it("counts an attempt and records the error with its time", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    await transitionJob(store, {
      jobId: "k:1",
      to: "RETRYING",
      by: "starter",
      countAttempt: true,
      error: { error: "ThrottlingException", cause: "slow down", kind: "start" },
    });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toMatch(/ADD #attempts :one$/);
    expect(input?.ExpressionAttributeValues?.[":one"]).toBe(1);
    expect(input?.ExpressionAttributeValues?.[":lastError"]).toEqual({
      error: "ThrottlingException",
      cause: "slow down",
      kind: "start",
      at: "2026-01-02T03:04:05.000Z",
    });
  });

  it("refuses an illegal move and names the status it found", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { jobId: "k:1", status: "SUCCEEDED", transitions: [] } });
    const attempt = transitionJob(store, { jobId: "k:1", to: "RUNNING", by: "workflow" });
    await expect(attempt).rejects.toThrow(IllegalJobTransitionError);
    await expect(attempt).rejects.toMatchObject({ from: "SUCCEEDED", to: "RUNNING" });
    await expect(attempt).rejects.toThrow("job k:1 cannot move from SUCCEEDED to RUNNING");
  });

  it("reports NEW when the job does not exist and cannot be created in that status", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    ddb.on(GetCommand).resolves({});
    await expect(cancelJob(store, "k:2", "customer asked")).rejects.toMatchObject({
      from: "NEW",
      to: "CANCELED",
    });
  });

  it("passes other errors through", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(new Error("boom"), { name: "InternalServerError" }));
    await expect(
      transitionJob(store, { jobId: "k:1", to: "RUNNING", by: "workflow" }),
    ).rejects.toThrow("boom");
  });
});

describe("getJob", () => {
  it("reads consistently and refuses an unknown status", async () => {
    ddb.on(GetCommand).resolves({ Item: { jobId: "k:1", status: "DONE-ISH" } });
    await expect(getJob(store, "k:1")).rejects.toThrow('unknown status "DONE-ISH"');
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it("returns undefined for a job nobody recorded", async () => {
    ddb.on(GetCommand).resolves({});
    expect(await getJob(store, "k:404")).toBeUndefined();
  });
});

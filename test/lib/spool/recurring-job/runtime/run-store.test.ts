import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  claimRun,
  deferRun,
  expiresAt,
  recordBackfilledRun,
  recordFailure,
  runRecord,
} from "../../../../../lib/spool/recurring-job/runtime/run-store.js";
import { conditionFailed, JOB, NOW } from "../../../../helpers/recurring-runs.js";

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const scheduledTime = new Date("2026-03-02T01:00:00Z");
const run = () => runRecord(db as unknown as DynamoDBDocumentClient, JOB, scheduledTime);
const delivery = {
  source: "schedule" as const,
  scheduledTimeSource: "payload" as const,
  correlationId: "corr-1",
  now: NOW,
};

beforeEach(() => {
  db.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("claimRun", () => {
  it("returns the attempt the claim counted", async () => {
    db.on(UpdateCommand).resolves({ Attributes: { attempts: 3 } });
    expect(await claimRun(run(), delivery, NOW.getTime() + 600_000)).toEqual({
      written: true,
      attempt: 3,
    });
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: "job#nightly", sk: "run#2026-03-02T01:00:00.000Z" },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      ExpressionAttributeValues: { ":lease": NOW.getTime() + 600_000, ":nowMs": NOW.getTime() },
    });
  });

  it("answers a refusal with the record it found, read consistently when the refusal has none", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ status: "SUCCEEDED" }))
      .rejectsOnce(conditionFailed());
    db.on(GetCommand).resolves({ Item: { status: "FAILED" } });
    expect(await claimRun(run(), delivery, 0)).toEqual({
      written: false,
      existing: { status: "SUCCEEDED" },
    });
    expect(db.commandCalls(GetCommand)).toHaveLength(0);

    expect(await claimRun(run(), delivery, 0)).toEqual({
      written: false,
      existing: { status: "FAILED" },
    });
    expect(db.commandCalls(GetCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it("lets any other failure through", async () => {
    db.on(UpdateCommand).rejects(new Error("throttled"));
    await expect(claimRun(run(), delivery, 0)).rejects.toThrow("throttled");
  });
});

describe("closing an attempt", () => {
  it("records the error of the attempt it claimed, and ends its lease", async () => {
    db.on(UpdateCommand).resolves({});
    const error = { errorClass: "TransientError", code: "DOWN", message: "provider down" };
    await recordFailure(run(), 2, error, NOW);
    const input = db.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toBe(
      "SET #status = :failed, #error = :error, finishedAt = :finished REMOVE leaseUntil",
    );
    expect(input?.ConditionExpression).toBe("#status = :running AND attempts = :attempt");
    expect(input?.ExpressionAttributeNames).toEqual({ "#status": "status", "#error": "error" });
    expect(input?.ExpressionAttributeValues).toMatchObject({ ":attempt": 2, ":error": error });
  });

  it("hands a claim back and returns how often the run has waited", async () => {
    db.on(UpdateCommand).resolves({ Attributes: { deferrals: 4 } });
    expect(await deferRun(run(), 1)).toBe(4);
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
      ":queued": "QUEUED",
      ":running": "RUNNING",
      ":attempt": 1,
      ":minusOne": -1,
      ":one": 1,
    });
  });
});

describe("recordBackfilledRun", () => {
  it("creates the run QUEUED, naming no attribute it does not use", async () => {
    db.on(PutCommand).resolves({});
    const later = new Date("2026-03-05T00:00:00Z");
    expect(
      await recordBackfilledRun(run(), { tooLate: false, correlationId: "c", now: later }),
    ).toEqual({
      written: true,
    });
    const input = db.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(input).not.toHaveProperty("ExpressionAttributeNames");
    expect(input).not.toHaveProperty("ExpressionAttributeValues");
    expect(input?.Item).toMatchObject({
      status: "QUEUED",
      source: "backfill",
      runKey: "nightly@2026-03-02T01:00:00.000Z",
      queuedAt: later.toISOString(),
    });
  });

  it("creates a run too late to matter SKIPPED, and reports one already recorded", async () => {
    db.on(PutCommand)
      .resolvesOnce({})
      .rejectsOnce(conditionFailed({ status: "RUNNING" }));
    await recordBackfilledRun(run(), { tooLate: true, correlationId: "c", now: NOW });
    expect(db.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      status: "SKIPPED",
      skipReason: "too-late",
      finishedAt: NOW.toISOString(),
    });
    expect(
      await recordBackfilledRun(run(), { tooLate: false, correlationId: "c", now: NOW }),
    ).toEqual({
      written: false,
      existing: { status: "RUNNING" },
    });
  });
});

describe("expiresAt", () => {
  it("counts retention from the later of the scheduled time and the write", () => {
    const old = new Date("2020-01-01T00:00:00Z");
    expect(expiresAt(old, NOW, JOB)).toBe(NOW.getTime() / 1000 + JOB.retentionSeconds);
    const future = new Date("2030-01-01T00:00:00Z");
    expect(expiresAt(future, NOW, JOB)).toBe(future.getTime() / 1000 + JOB.retentionSeconds);
  });
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  acquireRunLock,
  lockItemKey,
  releaseRunLock,
} from "../../../../../lib/spool/recurring-job/runtime/run-lock.js";
import { runRecord } from "../../../../../lib/spool/recurring-job/runtime/run-store.js";
import { conditionFailed, JOB, NOW } from "../../../../helpers/recurring-runs.js";

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const run = () =>
  runRecord(db as unknown as DynamoDBDocumentClient, JOB, new Date("2026-03-02T01:00:00Z"));

beforeEach(() => {
  db.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("the overlap lock", () => {
  it("is one item per job, taken when free, expired or already this run's", async () => {
    db.on(PutCommand).resolves({});
    expect(await acquireRunLock(run(), 99, NOW)).toEqual({ acquired: true });
    const input = db.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input?.Item).toEqual({
      ...lockItemKey("nightly"),
      runKey: "nightly@2026-03-02T01:00:00.000Z",
      leaseUntil: 99,
      acquiredAt: NOW.toISOString(),
    });
    expect(input?.ConditionExpression).toBe(
      "attribute_not_exists(pk) OR leaseUntil < :nowMs OR runKey = :runKey",
    );
  });

  it("names the run holding it, or unknown when the holder's item is gone", async () => {
    db.on(PutCommand)
      .rejectsOnce(conditionFailed({ runKey: "nightly@earlier" }))
      .rejectsOnce(conditionFailed());
    db.on(GetCommand).resolves({});
    expect(await acquireRunLock(run(), 99, NOW)).toEqual({
      acquired: false,
      blockedBy: "nightly@earlier",
    });
    expect(await acquireRunLock(run(), 99, NOW)).toEqual({ acquired: false, blockedBy: "unknown" });
  });

  it("is released only by the run holding it; a takeover is not an error", async () => {
    db.on(DeleteCommand).rejectsOnce(conditionFailed()).rejectsOnce(new Error("throttled"));
    await expect(releaseRunLock(run())).resolves.toBeUndefined();
    expect(db.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({
      Key: lockItemKey("nightly"),
      ConditionExpression: "runKey = :runKey",
    });
    await expect(releaseRunLock(run())).rejects.toThrow("throttled");
  });
});

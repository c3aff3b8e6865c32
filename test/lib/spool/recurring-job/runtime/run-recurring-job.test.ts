import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  deferDelaySeconds,
  runRecurringJob,
} from "../../../../../lib/spool/recurring-job/runtime/run-recurring-job.js";
import { runItemKey } from "../../../../../lib/spool/recurring-job/runtime/run-states.js";
import { TransientError } from "../../../../../lib/spool/runtime/errors.js";
import {
  conditionFailed,
  JOB,
  runMessage as message,
  runMeta as meta,
  NOW,
} from "../../../../helpers/recurring-runs.js";

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));

const deps = (anchor?: Date) => ({
  db: db as unknown as DynamoDBDocumentClient,
  now: () => NOW,
  anchorOf: vi.fn(async () => anchor),
});
const updates = () => db.commandCalls(UpdateCommand).map((c) => c.args[0].input);

beforeEach(() => {
  db.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("runRecurringJob", () => {
  it("claims the run with a conditional write before the effect, then records success", async () => {
    db.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
    const effect = vi.fn(async () => ({ filed: true }));
    const outcome = await runRecurringJob(message(), meta, JOB, deps(), effect);
    expect(outcome).toEqual({
      status: "succeeded",
      runKey: "nightly@2026-03-02T01:00:00.000Z",
      result: { filed: true },
    });
    expect(effect).toHaveBeenCalledWith(
      expect.objectContaining({ attempt: 1, scheduledTime: new Date("2026-03-02T01:00:00Z") }),
    );
    const [claim, done] = updates();
    expect(claim?.Key).toEqual(runItemKey("nightly", new Date("2026-03-02T01:00:00Z")));
    expect(claim?.ConditionExpression).toBe(
      "attribute_not_exists(pk) OR #status IN (:queued, :failed) OR (#status = :running AND leaseUntil < :nowMs)",
    );
    expect(done?.ExpressionAttributeValues).toMatchObject({
      ":succeeded": "SUCCEEDED",
      ":attempt": 1,
    });
  });

  it("does nothing for a duplicate delivery of a run already claimed", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ pk: "job#nightly", status: "SUCCEEDED" }))
      .resolves({});
    const effect = vi.fn();
    const outcome = await runRecurringJob(message(), meta, JOB, deps(), effect);
    expect(outcome).toMatchObject({ status: "duplicate", existingStatus: "SUCCEEDED" });
    expect(effect).not.toHaveBeenCalled();
    expect(updates()[1]?.UpdateExpression).toMatch(/ADD deliveries :one, duplicateDeliveries :one/);
  });

  it("keeps a redelivery of a run still in progress on the queue until its lease ends", async () => {
    // The holder may die: acknowledging this copy would leave nothing to finish the run.
    db.on(UpdateCommand).rejectsOnce(
      conditionFailed({
        pk: "job#nightly",
        status: "RUNNING",
        leaseUntil: NOW.getTime() + 120_000,
      }),
    );
    const effect = vi.fn();
    const failure = runRecurringJob(message(), meta, JOB, deps(), effect);
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toMatchObject({
      code: "RUN_IN_PROGRESS",
      details: { retryAfterSeconds: 120 },
    });
    expect(effect).not.toHaveBeenCalled();
    // Not counted as a duplicate delivery: it is not one yet.
    expect(updates()).toHaveLength(1);
  });

  it("records a run later than the max lateness as SKIPPED without running it", async () => {
    db.on(UpdateCommand).resolves({});
    const effect = vi.fn();
    const late = message({ scheduledTime: "2026-03-01T23:59:00.000Z" });
    expect(await runRecurringJob(late, meta, JOB, deps(), effect)).toMatchObject({
      status: "skipped",
      reason: "too-late",
    });
    expect(effect).not.toHaveBeenCalled();
    expect(updates()[0]?.ExpressionAttributeValues).toMatchObject({
      ":skipped": "SKIPPED",
      ":reason": "too-late",
    });
    // An operator's backfill may allow more.
    db.reset();
    db.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
    const allowed = { ...late, source: "backfill" as const, maxLatenessSeconds: 86_400 };
    expect((await runRecurringJob(allowed, meta, JOB, deps(), vi.fn())).status).toBe("succeeded");
  });

  it("records a failed effect and rethrows it for the queue to retry", async () => {
    db.on(UpdateCommand).resolves({ Attributes: { attempts: 2 } });
    const boom = new TransientError("provider down", { code: "DOWN" });
    await expect(
      runRecurringJob(message(), meta, JOB, deps(), async () => Promise.reject(boom)),
    ).rejects.toBe(boom);
    expect(updates()[1]?.ExpressionAttributeValues).toMatchObject({
      ":failed": "FAILED",
      ":attempt": 2,
      ":error": { errorClass: "TransientError", code: "DOWN", message: "provider down" },
    });
  });

  describe("skip-if-running", () => {
    const exclusive = { ...JOB, overlap: "skip-if-running" as const };

    it("takes the job's lock around the effect and releases it", async () => {
      db.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
      db.on(PutCommand).resolves({});
      db.on(DeleteCommand).resolves({});
      await runRecurringJob(message(), meta, exclusive, deps(), async () => "ok");
      const lock = db.commandCalls(PutCommand)[0]?.args[0].input;
      expect(lock?.Item).toMatchObject({
        pk: "job#nightly",
        sk: "lock",
        runKey: "nightly@2026-03-02T01:00:00.000Z",
      });
      expect(lock?.ConditionExpression).toBe(
        "attribute_not_exists(pk) OR leaseUntil < :nowMs OR runKey = :runKey",
      );
      expect(db.commandCalls(DeleteCommand)[0]?.args[0].input.ConditionExpression).toBe(
        "runKey = :runKey",
      );
    });

    it("skips a scheduled run while another run holds the lock", async () => {
      db.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
      db.on(PutCommand).rejects(conditionFailed({ runKey: "nightly@2026-03-01T01:00:00.000Z" }));
      const effect = vi.fn();
      expect(await runRecurringJob(message(), meta, exclusive, deps(), effect)).toEqual({
        status: "skipped",
        runKey: "nightly@2026-03-02T01:00:00.000Z",
        reason: "overlap",
        blockedBy: "nightly@2026-03-01T01:00:00.000Z",
      });
      expect(effect).not.toHaveBeenCalled();
    });

    it("makes a backfilled run wait (claim handed back, message sent again later) instead of skipping it", async () => {
      db.on(UpdateCommand).resolves({ Attributes: { attempts: 1, deferrals: 3 } });
      db.on(PutCommand).rejects(conditionFailed({ runKey: "nightly@2026-03-01T01:00:00.000Z" }));
      const requeue = vi.fn(async () => {});
      const effect = vi.fn();
      const outcome = await runRecurringJob(
        message({ source: "backfill" }),
        meta,
        exclusive,
        { ...deps(), requeue, random: () => 0.999 },
        effect,
      );
      expect(outcome).toMatchObject({ status: "deferred", retryInSeconds: 8 });
      expect(requeue).toHaveBeenCalledWith(8);
      expect(effect).not.toHaveBeenCalled();
      expect(updates().at(-1)?.UpdateExpression).toMatch(/ADD attempts :minusOne, deferrals :one/);
    });

    it("without a requeue, makes a backfilled run wait through the queue's retry (transient)", async () => {
      db.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
      db.on(PutCommand).rejects(conditionFailed({ runKey: "nightly@2026-03-01T01:00:00.000Z" }));
      const attempt = runRecurringJob(
        message({ source: "backfill" }),
        meta,
        exclusive,
        deps(),
        vi.fn(),
      );
      await expect(attempt).rejects.toBeInstanceOf(TransientError);
      await expect(attempt).rejects.toMatchObject({ code: "JOB_RUNNING" });
      expect(updates().at(-1)?.ExpressionAttributeValues).toMatchObject({
        ":queued": "QUEUED",
        ":minusOne": -1,
      });
    });
  });
});

describe("deferDelaySeconds", () => {
  it("waits at least 1 s and at most a doubling ceiling capped at 60 s", () => {
    expect(deferDelaySeconds(1, () => 0)).toBe(1);
    expect(deferDelaySeconds(1, () => 0.999)).toBe(2);
    expect(deferDelaySeconds(3, () => 0.999)).toBe(8);
    expect(deferDelaySeconds(20, () => 0.999)).toBe(60);
  });
});

import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  backfillRuns,
  type JobDefinition,
  type RunMessage,
  resolveScheduledTime,
  runItemKey,
  runKeyOf,
  runRecurringJob,
  SCHEDULED_TIME_PLACEHOLDER,
} from "../../../../../lib/spool/recurring-job/runtime/recurring-jobs.js";
import { TransientError } from "../../../../../lib/spool/runtime/errors.js";

const NOW = new Date("2026-03-02T01:00:05.000Z");
const JOB: JobDefinition = {
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

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const sqs = mockClient(new SQSClient({ region: "us-east-1" }));

const deps = (anchor?: Date) => ({
  db: db as unknown as DynamoDBDocumentClient,
  now: () => NOW,
  anchorOf: vi.fn(async () => anchor),
});

function conditionFailed(item?: Record<string, unknown>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(item ? { Item: marshall(item) } : {}),
  });
}

const message = (overrides: Partial<RunMessage> = {}): RunMessage => ({
  kind: "spool.recurring-run",
  schemaVersion: 1,
  job: "nightly",
  scheduledTime: "2026-03-02T01:00:00.000Z",
  source: "schedule",
  ...overrides,
});
const meta = { sentAt: new Date("2026-03-02T01:00:03Z"), correlationId: "corr-1" };
const updates = () => db.commandCalls(UpdateCommand).map((c) => c.args[0].input);

beforeEach(() => {
  db.reset();
  sqs.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

describe("run keys", () => {
  it("are (job, scheduled time)", () => {
    const t = new Date("2026-03-02T01:00:00Z");
    expect(runKeyOf("nightly", t)).toBe("nightly@2026-03-02T01:00:00.000Z");
    expect(runItemKey("nightly", t)).toEqual({
      pk: "job#nightly",
      sk: "run#2026-03-02T01:00:00.000Z",
    });
  });
});

describe("resolveScheduledTime", () => {
  it("takes the scheduled time from the message", async () => {
    expect(await resolveScheduledTime(message(), meta.sentAt, JOB, deps())).toEqual({
      time: new Date("2026-03-02T01:00:00Z"),
      source: "payload",
    });
  });

  it("falls back to the latest occurrence at or before SentTimestamp when the placeholder arrives", async () => {
    const m = message({ scheduledTime: SCHEDULED_TIME_PLACEHOLDER });
    const resolved = await resolveScheduledTime(m, new Date("2026-03-02T01:00:09Z"), JOB, deps());
    expect(resolved).toEqual({ time: new Date("2026-03-02T01:00:00Z"), source: "sent-timestamp" });
  });

  it("anchors the fallback of a rate() job at its schedule's start", async () => {
    const rate = { ...JOB, schedule: "rate(15 minutes)" };
    const d = deps(new Date("2026-03-02T00:05:00Z"));
    const m = message({ scheduledTime: SCHEDULED_TIME_PLACEHOLDER });
    expect((await resolveScheduledTime(m, new Date("2026-03-02T00:49:00Z"), rate, d)).time).toEqual(
      new Date("2026-03-02T00:35:00Z"),
    );
    expect(d.anchorOf).toHaveBeenCalledWith(rate);
  });

  it("refuses a scheduled time that is not ISO 8601 as permanent", async () => {
    await expect(
      resolveScheduledTime(message({ scheduledTime: "yesterday" }), meta.sentAt, JOB, deps()),
    ).rejects.toMatchObject({ code: "RUN_TIME_INVALID" });
  });
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

describe("backfillRuns", () => {
  const backfillDeps = () => ({
    db: db as unknown as DynamoDBDocumentClient,
    sqs: sqs as unknown as SQSClient,
    now: () => new Date("2026-03-05T01:30:00Z"),
  });
  const window = { from: new Date("2026-03-03T00:00:00Z"), to: new Date("2026-03-05T01:30:00Z") };
  const times = [
    "2026-03-03T01:00:00.000Z",
    "2026-03-04T01:00:00.000Z",
    "2026-03-05T01:00:00.000Z",
  ];

  it("records each run QUEUED by run key and sends only the new ones", async () => {
    db.on(PutCommand)
      .rejectsOnce(conditionFailed({ status: "SUCCEEDED" }))
      .rejectsOnce(conditionFailed({ status: "QUEUED" }))
      .resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [] });
    const report = await backfillRuns(
      { job: JOB, ...window, maxLatenessSeconds: 5 * 86_400 },
      backfillDeps(),
    );
    expect(report).toMatchObject({
      expected: times,
      enqueued: [times[2]],
      requeued: [times[1]],
      alreadyRecorded: [{ scheduledTime: times[0], status: "SUCCEEDED" }],
      skippedTooLate: [],
    });
    expect(db.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "attribute_not_exists(pk)",
    );
    // Retention counts from the backfill, not from the (old) scheduled time.
    expect(db.commandCalls(PutCommand)[2]?.args[0].input.Item?.expiresAt).toBe(
      Date.parse("2026-03-05T01:30:00Z") / 1000 + JOB.retentionSeconds,
    );
    const entries = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((e) => JSON.parse(e.MessageBody ?? "").scheduledTime)).toEqual([
      times[1],
      times[2],
    ]);
    expect(JSON.parse(entries[0]?.MessageBody ?? "")).toMatchObject({
      source: "backfill",
      maxLatenessSeconds: 5 * 86_400,
    });
  });

  it("records runs older than the max lateness SKIPPED and sends only the timely one", async () => {
    db.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [] });
    const report = await backfillRuns({ job: JOB, ...window }, backfillDeps());
    expect(report.skippedTooLate).toEqual(times.slice(0, 2));
    expect(report.enqueued).toEqual([times[2]]);
    expect(db.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      status: "SKIPPED",
      skipReason: "too-late",
    });
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(sent.map((e) => JSON.parse(e.MessageBody ?? "").scheduledTime)).toEqual([times[2]]);
  });

  it("reports its progress run by run, then once every new run is sent", async () => {
    db.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [] });
    const progress: string[] = [];
    await backfillRuns(
      { job: JOB, ...window, maxLatenessSeconds: 5 * 86_400 },
      {
        ...backfillDeps(),
        onProgress: ({ done, total }) => {
          progress.push(
            `${done}/${total} sent=${sqs.commandCalls(SendMessageBatchCommand).length}`,
          );
        },
      },
    );
    expect(progress).toEqual(["0/3 sent=0", "1/3 sent=0", "2/3 sent=0", "3/3 sent=1"]);
  });

  it("changes nothing in a dry run", async () => {
    db.on(GetCommand).resolves({});
    const report = await backfillRuns({ job: JOB, ...window, dryRun: true }, backfillDeps());
    expect(report.enqueued).toEqual([times[2]]);
    expect(db.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("refuses a window reaching into the future or a reversed one", async () => {
    await expect(
      backfillRuns(
        { job: JOB, from: window.from, to: new Date("2026-03-06T00:00:00Z") },
        backfillDeps(),
      ),
    ).rejects.toThrow(/past runs only/);
    await expect(
      backfillRuns({ job: JOB, from: window.to, to: window.from }, backfillDeps()),
    ).rejects.toThrow(/from < to/);
  });

  it("fails loudly, leaving the runs QUEUED for the next backfill, when SQS refuses some", async () => {
    db.on(PutCommand).resolves({});
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: "r0", Code: "x", Message: "nope", SenderFault: false }] });
    await expect(
      backfillRuns({ job: JOB, ...window, maxLatenessSeconds: 5 * 86_400 }, backfillDeps()),
    ).rejects.toThrow(/recorded but not sent .*run the backfill again/);
  });
});

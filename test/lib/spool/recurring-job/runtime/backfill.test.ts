import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { backfillRuns } from "../../../../../lib/spool/recurring-job/runtime/backfill.js";
import { conditionFailed, JOB } from "../../../../helpers/recurring-runs.js";

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const sqs = mockClient(new SQSClient({ region: "us-east-1" }));

beforeEach(() => {
  db.reset();
  sqs.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
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

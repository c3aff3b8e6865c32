import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it, vi } from "vitest";
import { spool } from "../../../helpers/cli.js";
import { expectRefusedBeforeAws, stubSpoolStack } from "../../../helpers/cli-stack.js";

const { cfn, db, sqs } = stubSpoolStack();

describe("spool backfill and runs: argument parsing", () => {
  it.each([
    [["backfill", "nightly"], /required option '--from <time>' not specified/],
    [
      ["backfill", "nightly", "--from", "2026-01-01", "--to", "2026-01-02T00:00:00Z"],
      /--from must be an ISO 8601 time with a zone, like 2026-11-20T00:00:00Z, got "2026-01-01"/,
    ],
    [
      ["backfill", "nightly", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"],
      /^spool: --from must be before --to, got 2026-01-02T00:00:00.000Z \.\. 2026-01-01T00:00:00.000Z\n$/,
    ],
    [
      ["backfill", "nightly", "--from", "2020-01-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z"],
      /^spool: a backfill covers past runs only: --to must not be in the future/,
    ],
    [
      [
        "backfill",
        "nightly",
        "--from",
        "2020-01-01T00:00:00Z",
        "--to",
        "2020-01-02T00:00:00Z",
        "--max-lateness",
        "soon",
      ],
      /--max-lateness must be a duration like 30s, 15m, 2h or 7d, got "soon"/,
    ],
    [["runs", "nightly", "--limit", "x"], /--limit must be an integer from 1 to 10000/],
  ])("refuses %j in one line, before calling AWS", (argv, message) =>
    expectRefusedBeforeAws(argv, message, cfn),
  );
});

describe("spool backfill and runs", () => {
  it("backfills with a progress counter on stderr and the report on stdout", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-03-10T12:00:00Z") });
    // Each recorded run takes a second, so the counter (quiet for the first 2 s) shows up.
    db.on(PutCommand).callsFake(() => {
      vi.setSystemTime(Date.now() + 1_000);
      return {};
    });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [] });
    const { code, out, err } = await spool(
      "backfill",
      "nightly-reconciliation",
      "--from",
      "2026-03-01T00:00:00Z",
      "--to",
      "2026-03-06T00:00:00Z",
      "--max-lateness",
      "30d",
    );
    expect(code, err).toBe(0);
    expect(err).toMatch(/^runs recorded [2-5]\/5 · 1\.0\/s/m);
    expect(out).toMatch(
      /^nightly-reconciliation: 5 run\(s\) from 2026-03-01T00:00:00.000Z to 2026-03-06T00:00:00.000Z; 5 enqueued/,
    );
    expect(out).toContain("2026-03-01T01:00:00.000Z  enqueued");
    expect(out).toContain(
      "Follow them: spool runs nightly-reconciliation --from 2026-03-01T00:00:00.000Z",
    );
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(sent.map((e) => JSON.parse(e.MessageBody ?? "{}").maxLatenessSeconds)).toEqual(
      Array(5).fill(30 * 86_400),
    );
  });

  it("a dry run records and sends nothing", async () => {
    db.on(GetCommand).resolves({});
    const { code, out } = await spool(
      "backfill",
      "nightly-reconciliation",
      "--from",
      "2020-03-01T00:00:00Z",
      "--to",
      "2020-03-03T00:00:00Z",
      "--dry-run",
    );
    expect(code).toBe(0);
    expect(out).toMatch(/^Dry run: nightly-reconciliation has 2 run\(s\) .* 0 would be enqueued/);
    expect(out).toContain("2020-03-01T01:00:00.000Z  would record SKIPPED: too late");
    expect(db.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("names the jobs it knows when asked for another", async () => {
    const { code, err } = await spool(
      "backfill",
      "weekly",
      "--from",
      "2020-03-01T00:00:00Z",
      "--to",
      "2020-03-03T00:00:00Z",
    );
    expect(code).toBe(1);
    expect(err).toBe(
      "spool: no recurring job weekly in stack Spool; its jobs: nightly-reconciliation, overlap-probe\n",
    );
  });

  it("runs: the job's run history, newest first", async () => {
    db.on(QueryCommand).resolves({
      Items: [
        {
          pk: "job#nightly-reconciliation",
          sk: "run#2026-03-02T01:00:00.000Z",
          scheduledTime: "2026-03-02T01:00:00.000Z",
          status: "SKIPPED",
          source: "schedule",
          skipReason: "overlap",
          blockedBy: "nightly-reconciliation@2026-03-01T01:00:00.000Z",
          deliveries: 1,
        },
        {
          pk: "job#nightly-reconciliation",
          sk: "run#2026-03-01T01:00:00.000Z",
          scheduledTime: "2026-03-01T01:00:00.000Z",
          status: "SUCCEEDED",
          source: "backfill",
          attempts: 1,
          deliveries: 2,
          duplicateDeliveries: 1,
        },
      ],
    });
    const { code, out } = await spool("runs", "nightly-reconciliation", "--limit", "5");
    expect(code).toBe(0);
    expect(db.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: "runs-table",
      ScanIndexForward: false,
      Limit: 5,
    });
    expect(out).toMatch(
      /2026-03-02T01:00:00.000Z\s+SKIPPED\s+schedule\s+0\s+1\s+overlap \(nightly-reconciliation@2026-03-01T01:00:00.000Z\)/,
    );
    expect(out).toMatch(
      /2026-03-01T01:00:00.000Z\s+SUCCEEDED\s+backfill\s+1\s+2\s+1 duplicate deliveries ignored/,
    );
  });
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  EventBridgeClient,
  PutEventsCommand,
  StartReplayCommand,
} from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { EventReplayConfig } from "../../../../lib/spool/transactional-outbox/contract.js";
import { chooseSource, renderReplay } from "../../../../tools/cli/commands/events.js";
import type {
  EventReplayFinished,
  EventReplayStarted,
} from "../../../../tools/cli/lib/change-audits.js";
import {
  type EventReplayRequest,
  replayEvents,
  replayName,
} from "../../../../tools/cli/lib/event-replay.js";
import { spool } from "../../../helpers/cli.js";

const events = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const db = mockClient(DynamoDBDocumentClient);

const CONFIG: EventReplayConfig = {
  eventBusName: "orders",
  eventBusArn: "arn:aws:events:eu-west-1:111111111111:event-bus/orders",
  outboxTable: "outbox",
  archiveArn: "arn:aws:events:eu-west-1:111111111111:archive/orders-archive",
  subscriptions: {
    analytics: {
      ruleArn: "arn:aws:events:eu-west-1:111111111111:rule/orders/analytics",
      targetQueueUrl: "https://sqs.eu-west-1.amazonaws.com/111111111111/analytics",
    },
  },
};
const FROM = new Date("2026-12-01T00:00:00Z");
const TO = new Date("2026-12-02T00:00:00Z");

function row(id: string, createdAt: string, status = "PUBLISHED") {
  const event = { id, type: "OrderPlaced", source: "spool.checkout", schemaVersion: "1.0" };
  return {
    id,
    type: event.type,
    source: event.source,
    status,
    createdAt,
    event: JSON.stringify(event),
  };
}

function audit() {
  const started: EventReplayStarted[] = [];
  const finished: EventReplayFinished[] = [];
  return {
    started,
    finished,
    audit: {
      started: async (r: EventReplayStarted) => void started.push(r),
      finished: async (_id: string, r: EventReplayFinished) => void finished.push(r),
    },
  };
}

function deps(a: ReturnType<typeof audit>["audit"] | undefined) {
  return {
    events: new EventBridgeClient({ region: "eu-west-1" }),
    sqs: new SQSClient({ region: "eu-west-1" }),
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1" })),
    audit: a,
    operator: { principal: "arn:aws:iam::111111111111:user/ada", localUser: "ada" },
    stack: "Spool",
    sleep: async () => {},
  };
}

function request(extra: Partial<EventReplayRequest> = {}): EventReplayRequest {
  return { config: CONFIG, source: "outbox", from: FROM, to: TO, dryRun: false, ...extra };
}

const analytics = { name: "analytics", ...CONFIG.subscriptions.analytics } as NonNullable<
  EventReplayRequest["subscription"]
>;

beforeEach(() => {
  events.reset();
  sqs.reset();
  db.reset();
});

describe("spool events replay from the outbox", () => {
  beforeEach(() => {
    db.on(ScanCommand).resolves({
      Items: [
        row("e-2", "2026-12-01T12:00:00.000Z"),
        row("e-1", "2026-12-01T01:00:00+01:00"), // 00:00Z: the window's first instant
        row("e-before", "2026-11-30T23:59:59.999Z"),
        row("e-end", "2026-12-02T00:00:00.000Z"), // the end is exclusive
        row("e-pending", "2026-12-01T03:00:00.000Z", "PENDING"),
        row("e-failed", "2026-12-01T04:00:00.000Z", "FAILED"),
      ],
    });
  });

  it("re-publishes the window's published rows to the bus as the publisher did, oldest first, audited", async () => {
    events.on(PutEventsCommand).resolves({ Entries: [{ EventId: "a" }, { EventId: "b" }] });
    const a = audit();
    const report = await replayEvents(request(), deps(a.audit));
    expect(report).toMatchObject({
      source: "outbox",
      destination: "orders",
      sent: 2,
      failed: [],
      skipped: { pending: 1, failed: 1 },
    });
    expect(report.source === "outbox" && report.events.map((e) => e.id)).toEqual(["e-1", "e-2"]);
    const [call] = events.commandCalls(PutEventsCommand);
    expect(call?.args[0].input.Entries).toEqual([
      {
        EventBusName: "orders",
        Source: "spool.checkout",
        DetailType: "OrderPlaced",
        Detail: row("e-1", "").event,
        Time: new Date("2026-12-01T00:00:00.000Z"),
      },
      expect.objectContaining({ Detail: row("e-2", "").event }),
    ]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(a.started[0]).toMatchObject({ source: "outbox", destination: "orders", stack: "Spool" });
    expect(a.finished[0]).toMatchObject({
      status: "completed",
      matched: 2,
      sent: 2,
      eventIds: ["e-1", "e-2"],
    });
  });

  it("with a subscription, sends each detail to its queue alone, as its rule would", async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: "e0", MessageId: "m0", MD5OfMessageBody: "" }],
      Failed: [{ Id: "e1", Code: "InternalError", SenderFault: false, Message: "boom" }],
    });
    const a = audit();
    const report = await replayEvents(request({ subscription: analytics }), deps(a.audit));
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    const [call] = sqs.commandCalls(SendMessageBatchCommand);
    expect(call?.args[0].input).toEqual({
      QueueUrl: CONFIG.subscriptions.analytics?.targetQueueUrl,
      Entries: [
        { Id: "e0", MessageBody: row("e-1", "").event },
        { Id: "e1", MessageBody: row("e-2", "").event },
      ],
    });
    expect(report).toMatchObject({
      sent: 1,
      failed: [{ id: "e-2", reason: "InternalError: boom" }],
    });
    expect(a.finished[0]).toMatchObject({ status: "failed", sent: 1, failed: 1 });
  });

  it("on a dry run sends and records nothing", async () => {
    const report = await replayEvents(request({ dryRun: true }), deps(undefined));
    expect(report).toMatchObject({ dryRun: true, sent: 0, replayId: undefined });
    expect(report.source === "outbox" && report.events).toHaveLength(2);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(renderReplay(report)).toContain("Dry run: 2 published event(s)");
  });
});

describe("an event replay without its audit", () => {
  it.each(["outbox", "archive"] as const)(
    "from the %s is refused before anything is sent",
    async (source) => {
      db.on(ScanCommand).resolves({ Items: [row("e-1", "2026-12-01T01:00:00.000Z")] });
      await expect(replayEvents(request({ source }), deps(undefined))).rejects.toThrow(
        /needs an audit/,
      );
      expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
      expect(events.commandCalls(StartReplayCommand)).toHaveLength(0);
    },
  );
});

describe("spool events replay from the archive", () => {
  it("starts a replay of the window to the bus, filtered to the subscription's rule, and follows it", async () => {
    events.on(StartReplayCommand).resolves({ State: "STARTING", ReplayArn: "arn:replay" });
    events
      .on(DescribeReplayCommand)
      .resolvesOnce({ State: "RUNNING" })
      .resolves({ State: "COMPLETED" });
    const a = audit();
    const report = await replayEvents(
      request({ source: "archive", subscription: analytics }),
      deps(a.audit),
    );
    const [start] = events.commandCalls(StartReplayCommand);
    expect(start?.args[0].input).toMatchObject({
      EventSourceArn: CONFIG.archiveArn,
      EventStartTime: FROM,
      EventEndTime: TO,
      Destination: { Arn: CONFIG.eventBusArn, FilterArns: [analytics.ruleArn] },
    });
    expect(start?.args[0].input.ReplayName).toMatch(/^spool-20\d{6}T\d{6}-[0-9a-f]{8}$/);
    expect(events.commandCalls(DescribeReplayCommand)).toHaveLength(2);
    expect(report).toMatchObject({
      source: "archive",
      state: "COMPLETED",
      replayArn: "arn:replay",
    });
    expect(a.started[0]).toMatchObject({ source: "archive", destination: analytics.ruleArn });
    expect(a.finished[0]).toMatchObject({ status: "completed", state: "COMPLETED" });
  });

  it("without a subscription, replays to the whole bus; a failed replay is reported as failed", async () => {
    events.on(StartReplayCommand).resolves({ State: "STARTING" });
    events.on(DescribeReplayCommand).resolves({ State: "FAILED", StateReason: "no access" });
    const a = audit();
    const report = await replayEvents(request({ source: "archive" }), deps(a.audit));
    const [start] = events.commandCalls(StartReplayCommand);
    expect(start?.args[0].input.Destination).toEqual({ Arn: CONFIG.eventBusArn });
    expect(report).toMatchObject({ state: "FAILED", stateReason: "no access" });
    expect(a.finished[0]).toMatchObject({ status: "failed", error: "no access" });
  });

  it("on a dry run only describes the archive", async () => {
    events.on(DescribeArchiveCommand).resolves({ EventCount: 42 });
    const report = await replayEvents(
      request({ source: "archive", dryRun: true }),
      deps(undefined),
    );
    expect(events.commandCalls(StartReplayCommand)).toHaveLength(0);
    expect(events.commandCalls(DescribeArchiveCommand)[0]?.args[0].input).toEqual({
      ArchiveName: "orders-archive",
    });
    expect(renderReplay(report)).toContain("the archive holds 42 event(s)");
  });
});

describe("choosing the source and reading the arguments", () => {
  it("uses the archive when the stack has one, else the outbox; refuses an archive that is not there", () => {
    expect(chooseSource(CONFIG, undefined)).toBe("archive");
    expect(chooseSource(CONFIG, "outbox")).toBe("outbox");
    const { archiveArn: _, ...noArchive } = CONFIG;
    expect(chooseSource(noArchive, undefined)).toBe("outbox");
    expect(() => chooseSource(noArchive, "archive")).toThrow(/has no archive/);
  });

  it("names replays within EventBridge's rules", () => {
    expect(replayName(new Date("2026-12-07T12:04:05.678Z"))).toMatch(
      /^spool-20261207T120405-[0-9a-f]{8}$/,
    );
  });

  it.each([
    [
      ["--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z"],
      "--from must be before --to",
    ],
    [["--from", "2026-12-01", "--to", "2026-12-02T00:00:00Z"], "must be an ISO 8601 time"],
    [
      ["--from", "2026-12-01T00:00:00Z", "--to", "2999-01-01T00:00:00Z"],
      "must not be in the future",
    ],
    [
      ["--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--source", "s3"],
      "--source",
    ],
  ])("exits 2 with one line, before reading the stack, for %j", async (argv, message) => {
    const run = await spool("events", "replay", ...argv);
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
    expect(run.err.trim().split("\n")).toHaveLength(1);
  });
});

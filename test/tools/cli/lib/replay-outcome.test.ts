import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_ATTRIBUTE,
  deadLetterMessage,
  deadLetterMetadata,
} from "../../../../lib/spool/runtime/dead-letter.js";
import { parseReplayMarker } from "../../../../lib/spool/runtime/replay-marker.js";
import { renderReplayOutcome } from "../../../../tools/cli/commands/dlq-history.js";
import {
  DynamoReplayAudit,
  type ReplayAudit,
  type ReplayedAgain,
  type ReplayFinished,
  type ReplayHistoryEntry,
  type ReplayMoved,
  type ReplayStarted,
} from "../../../../tools/cli/lib/audit.js";
import { replayDeadLetters } from "../../../../tools/cli/lib/replay.js";
import { replayOutcome } from "../../../../tools/cli/lib/replay-outcome.js";
import type { ReplayTarget } from "../../../../tools/cli/lib/replay-send.js";
import type { QueueRef, SourceQueue } from "../../../../tools/cli/lib/stack.js";
import { fakeSqs } from "../../../helpers/fake-sqs.js";

const SRC = "https://sqs/000/lab";
const DLQ = "https://sqs/000/lab-dlq";
const QUARANTINE = "https://sqs/000/quarantine";
const QUARANTINE_DLQ = "https://sqs/000/quarantine-dlq";

const source: SourceQueue & { deadLetterQueue: QueueRef } = {
  name: "lab",
  url: SRC,
  arn: "arn:aws:sqs:us-east-1:000:lab",
  queueName: "lab",
  fifo: false,
  path: "Lab",
  maxReceiveCount: 5,
  deadLetterQueue: {
    url: DLQ,
    arn: "arn:aws:sqs:us-east-1:000:lab-dlq",
    queueName: "lab-dlq",
    fifo: false,
  },
};

/** The audit in memory: what replay writes, history reads back (again# items included). */
class MemoryAudit implements ReplayAudit {
  readonly summaries = new Map<string, ReplayHistoryEntry>();
  readonly moves = new Map<string, ReplayMoved[]>();
  readonly again = new Map<string, ReplayedAgain[]>();
  async started(record: ReplayStarted) {
    this.summaries.set(record.replayId, { ...record });
  }
  async moved(id: string, record: ReplayMoved) {
    this.moves.set(id, [...(this.moves.get(id) ?? []), record]);
    if (record.previousReplayId && record.previousDeadLetterId) {
      const list = this.again.get(record.previousReplayId) ?? [];
      list.push({
        deadLetterId: record.previousDeadLetterId,
        action: record.action ?? "replay",
        byReplayId: id,
        at: record.movedAt,
      });
      this.again.set(record.previousReplayId, list);
    }
  }
  async finished(id: string, record: ReplayFinished) {
    const entry = this.summaries.get(id);
    this.summaries.set(id, { ...entry, ...record } as ReplayHistoryEntry);
  }
  async messages(id: string) {
    return this.moves.get(id) ?? [];
  }
  async replayedAgain(id: string) {
    return this.again.get(id) ?? [];
  }
}

let sqs: ReturnType<typeof fakeSqs>;
let audit: MemoryAudit;
const operator = { principal: "arn:aws:iam::000:user/ops", localUser: "ops" };

function deadLetterAttributes(n: number) {
  const at = new Date().toISOString();
  return {
    [DEAD_LETTER_ATTRIBUTE]: {
      DataType: "String",
      StringValue: JSON.stringify({
        version: 1,
        reason: "permanent-failure",
        errorClass: "PermanentError",
        errorCode: "RECIPIENT_SUPPRESSED",
        errorMessage: "suppressed",
        messageId: `orig-${n}`,
        attempts: 1,
        firstFailureAt: at,
        lastFailureAt: at,
        sourceQueue: source.arn,
        correlationId: `corr-${n}`,
        schemaVersion: 1,
        consumer: "lab",
      }),
    },
    "correlation-id": { DataType: "String", StringValue: `corr-${n}` },
  };
}

/** What a consumer does with the replayed messages: acknowledges some, dead-letters the rest. */
function consume(queueUrl: string, dlqUrl: string, fails: (body: string) => boolean) {
  for (const m of [...sqs.messages(queueUrl)]) {
    sqs.messages(queueUrl).splice(sqs.messages(queueUrl).indexOf(m), 1);
    if (!fails(m.body)) continue;
    // The Lambda event's shape, then the consumer's own dead-letter message built from it.
    const record = {
      messageId: m.id,
      body: m.body,
      eventSourceARN: source.arn,
      attributes: { ApproximateReceiveCount: "1", ApproximateFirstReceiveTimestamp: "1" },
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes).map(([k, v]) => [
          k,
          { dataType: v.DataType, stringValue: v.StringValue },
        ]),
      ),
    } as unknown as SQSRecord;
    const metadata = deadLetterMetadata({
      record,
      failure: {
        kind: "permanent",
        errorClass: "PermanentError",
        code: "RECIPIENT_SUPPRESSED",
        message: "still suppressed",
      } as never,
      reason: "permanent-failure",
      correlationId: "c",
      body: JSON.parse(m.body),
      consumer: "lab",
      now: new Date(),
    });
    const message = deadLetterMessage(dlqUrl, record, metadata);
    sqs.put(dlqUrl, message.MessageBody ?? "", message.MessageAttributes);
  }
}

const replay = (target?: ReplayTarget, id = "replay-1") =>
  replayDeadLetters(
    { queue: source, filter: {}, dryRun: false, holdSeconds: 60, allowNative: false, target },
    { sqs: sqs.client, audit, operator, stack: "Spool", newReplayId: () => id },
  );

const history = (id = "replay-1") =>
  replayOutcome(audit.summaries.get(id) as ReplayHistoryEntry, {
    sqs: sqs.client,
    audit,
    holdSeconds: 30,
  });

beforeEach(() => {
  sqs = fakeSqs();
  audit = new MemoryAudit();
});

describe("spool dlq history <replay-id>", () => {
  it("a replay of 10 letters of which 3 still fail: 7 delivered, 3 dead-lettered again with replay count 1", async () => {
    for (let n = 0; n < 10; n++) sqs.put(DLQ, JSON.stringify({ n }), deadLetterAttributes(n));
    const outcome = await replay();
    expect(outcome.moved).toBe(10);
    expect(outcome.messages.every((m) => m.replayCount === 1)).toBe(true);

    // Before the consumer ran: nothing settled, all ten may still be in flight.
    const before = await history();
    expect(before).toMatchObject({
      delivered: 0,
      deadLetteredAgain: 0,
      inFlight: 10,
      settled: false,
    });

    consume(SRC, DLQ, (body) => JSON.parse(body).n < 3);
    const after = await history();
    expect(after).toMatchObject({
      delivered: 7,
      deadLetteredAgain: 3,
      inFlight: 0,
      settled: true,
      target: "lab",
      deadLetterQueueUrl: DLQ,
    });
    const again = after.messages.filter((m) => m.outcome === "dead-lettered-again");
    expect(again.map((m) => m.originalId).sort()).toEqual(["orig-0", "orig-1", "orig-2"]);
    expect(again.map((m) => m.replayCount)).toEqual([1, 1, 1]);
    // History only peeks: the three dead letters are still there, visible.
    expect(sqs.visible(DLQ)).toHaveLength(3);
    const text = renderReplayOutcome(after);
    expect(text).toMatch(/delivered\s+7/);
    expect(text).toMatch(/dead-lettered again\s+3/);
    expect(text).toContain("Settled");
  });

  it("counts a second replay of the same letters as replay count 2, and the first replay's history still says dead-lettered again", async () => {
    for (let n = 0; n < 2; n++) sqs.put(DLQ, JSON.stringify({ n }), deadLetterAttributes(n));
    await replay(undefined, "replay-1");
    consume(SRC, DLQ, () => true);
    const second = await replay(undefined, "replay-2");
    expect(second.messages.map((m) => m.replayCount)).toEqual([2, 2]);
    const [sent] = sqs.messages(SRC);
    expect(parseReplayMarker(sent?.attributes)).toMatchObject({
      replayId: "replay-2",
      count: 2,
      previousReplayId: "replay-1",
    });
    consume(SRC, DLQ, () => true);

    // Both letters left the DLQ once (moved on by replay-2) and are there again (replay-2's).
    expect(await history("replay-1")).toMatchObject({ deadLetteredAgain: 2, delivered: 0 });
    const first = await history("replay-1");
    expect(first.messages.map((m) => m.movedOnBy)).toEqual(["replay replay-2", "replay replay-2"]);
    const latest = await history("replay-2");
    expect(latest).toMatchObject({ deadLetteredAgain: 2, delivered: 0 });
    expect(latest.messages.map((m) => m.replayCount)).toEqual([2, 2]);
  });

  it("--to: sends to the target, not the source, and looks for failures in the target's DLQ", async () => {
    for (let n = 0; n < 4; n++) sqs.put(DLQ, JSON.stringify({ n }), deadLetterAttributes(n));
    const target: ReplayTarget = {
      url: QUARANTINE,
      arn: "arn:aws:sqs:us-east-1:000:quarantine",
      queueName: "quarantine",
      fifo: false,
      name: "quarantine",
      deadLetterQueueUrl: QUARANTINE_DLQ,
    };
    const outcome = await replay(target);
    expect(outcome).toMatchObject({ moved: 4, target: "quarantine", targetQueueUrl: QUARANTINE });
    expect(sqs.messages(SRC)).toHaveLength(0);
    expect(sqs.messages(QUARANTINE)).toHaveLength(4);
    expect(audit.summaries.get("replay-1")).toMatchObject({
      queue: "lab",
      targetQueue: "quarantine",
      targetQueueUrl: QUARANTINE,
      targetDeadLetterQueueUrl: QUARANTINE_DLQ,
    });
    expect(parseReplayMarker(sqs.messages(QUARANTINE)[0]?.attributes)?.target).toBe("quarantine");

    // A quarantine queue nobody reads: all four are still in flight there.
    expect(await history()).toMatchObject({ inFlight: 4, delivered: 0, settled: false });
    consume(QUARANTINE, QUARANTINE_DLQ, (body) => JSON.parse(body).n === 0);
    expect(await history()).toMatchObject({ delivered: 3, deadLetteredAgain: 1, settled: true });
  });

  it("counts what the target still holds as in flight, at most the replayed messages not yet found again", async () => {
    for (let n = 0; n < 3; n++) sqs.put(DLQ, JSON.stringify({ n }), deadLetterAttributes(n));
    await replay();
    consume(SRC, DLQ, (body) => JSON.parse(body).n === 0);
    // Other traffic on the queue: replayed messages may be among it, or not.
    for (let i = 0; i < 5; i++) sqs.put(SRC, "{}");
    const report = await history();
    expect(report).toMatchObject({
      deadLetteredAgain: 1,
      inFlight: 2,
      delivered: 0,
      settled: false,
    });
    expect(report.messages.filter((m) => m.outcome === "unsettled")).toHaveLength(2);
  });

  it("does not replay again what this very replay sent and a consumer dead-lettered at once", async () => {
    for (let n = 0; n < 3; n++) sqs.put(DLQ, JSON.stringify({ n }), deadLetterAttributes(n));
    // A consumer failing everything as soon as it arrives: the letter is back in the DLQ (with
    // its mark) before the replay's pass reaches the end of the queue.
    sqs.mock.on(SendMessageCommand, { QueueUrl: SRC }).callsFake((input) => ({
      MessageId: sqs.put(DLQ, input.MessageBody, input.MessageAttributes),
    }));
    const outcome = await replay();
    expect(outcome.moved).toBe(3);
    expect(sqs.messages(DLQ)).toHaveLength(3);
    expect(sqs.visible(DLQ)).toHaveLength(3);
    expect(await history()).toMatchObject({ deadLetteredAgain: 3, delivered: 0 });
  });

  it("marks a message sent without the mark (all 10 attribute slots used) as untracked", async () => {
    const ten = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`a${i}`, { DataType: "String", StringValue: `${i}` }]),
    );
    sqs.put(DLQ, "{}", ten);
    await replay();
    sqs.messages(SRC).splice(0);
    expect(await history()).toMatchObject({ untracked: 1, delivered: 0, deadLetteredAgain: 0 });
  });
});

describe("DynamoReplayAudit", () => {
  it("records a letter replayed again under the earlier replay too", async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(PutCommand).resolves({});
    const audit = new DynamoReplayAudit(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
      "audit",
    );
    await audit.moved("replay-2", {
      deadLetterId: "dl-2",
      originalId: "o",
      newMessageId: "m",
      errorCode: "X",
      movedAt: "2026-12-06T00:00:00.000Z",
      replayCount: 2,
      previousReplayId: "replay-1",
      previousDeadLetterId: "dl-1",
    });
    const items = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item);
    expect(items).toEqual([
      expect.objectContaining({ pk: "replay#replay-2", sk: "message#dl-2", replayCount: 2 }),
      expect.objectContaining({
        pk: "replay#replay-1",
        sk: "again#dl-1",
        deadLetterId: "dl-1",
        action: "replay",
        byReplayId: "replay-2",
      }),
    ]);
    ddb.restore();
  });
});

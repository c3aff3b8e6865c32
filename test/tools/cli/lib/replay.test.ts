import {
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { beforeEach, describe, expect, it } from "vitest";
import { DEAD_LETTER_ATTRIBUTE } from "../../../../lib/spool/runtime/dead-letter.js";
import { renderReplay } from "../../../../tools/cli/commands/dlq.js";
import type {
  ReplayAudit,
  ReplayFinished,
  ReplayMoved,
  ReplayStarted,
} from "../../../../tools/cli/lib/audit.js";
import { DeadLetterReader, toDeadLetter } from "../../../../tools/cli/lib/dead-letters.js";
import {
  REPLAY_ATTRIBUTE,
  type ReplayRequest,
  replayDeadLetters,
  replayDeduplicationId,
} from "../../../../tools/cli/lib/replay.js";
import type { QueueRef, SourceQueue } from "../../../../tools/cli/lib/stack.js";
import { fakeSqs } from "../../../helpers/fake-sqs.js";

const DLQ = "https://sqs/000/lab-dlq";
const SRC = "https://sqs/000/lab";

function queue(fifo = false): SourceQueue & { deadLetterQueue: QueueRef } {
  const suffix = fifo ? ".fifo" : "";
  return {
    name: "lab",
    url: `${SRC}${suffix}`,
    arn: `arn:aws:sqs:us-east-1:000:lab${suffix}`,
    queueName: `lab${suffix}`,
    fifo,
    path: "Lab",
    maxReceiveCount: 5,
    deadLetterQueue: {
      url: `${DLQ}${suffix}`,
      arn: `arn:aws:sqs:us-east-1:000:lab-dlq${suffix}`,
      queueName: `lab-dlq${suffix}`,
      fifo,
    },
  };
}

function metadata(errorCode: string, extra: Record<string, unknown> = {}) {
  const at = new Date().toISOString();
  return {
    [DEAD_LETTER_ATTRIBUTE]: {
      DataType: "String",
      StringValue: JSON.stringify({
        version: 1,
        reason: "permanent-failure",
        errorClass: "PermanentError",
        errorCode,
        errorMessage: `failed with ${errorCode}`,
        messageId: `orig-${errorCode}`,
        attempts: 1,
        firstFailureAt: at,
        lastFailureAt: at,
        sourceQueue: "arn:aws:sqs:us-east-1:000:lab",
        correlationId: "corr-1",
        schemaVersion: 1,
        consumer: "lab",
        ...extra,
      }),
    },
  } satisfies Record<string, MessageAttributeValue>;
}

class RecordingAudit implements ReplayAudit {
  readonly calls: { kind: string; record: unknown }[] = [];
  onMoved?: () => void;
  async started(record: ReplayStarted) {
    this.calls.push({ kind: "started", record });
  }
  async moved(_id: string, record: ReplayMoved) {
    this.calls.push({ kind: "moved", record });
    this.onMoved?.();
  }
  async finished(_id: string, record: ReplayFinished) {
    this.calls.push({ kind: "finished", record });
  }
}

const operator = { principal: "arn:aws:iam::000:user/ops", localUser: "ops" };
let sqs: ReturnType<typeof fakeSqs>;
let audit: RecordingAudit;

const request = (overrides: Partial<ReplayRequest> = {}): ReplayRequest => ({
  queue: queue(),
  filter: {},
  dryRun: false,
  holdSeconds: 60,
  allowNative: false,
  ...overrides,
});
const deps = (extra: Record<string, unknown> = {}) => ({
  sqs: sqs.client,
  audit,
  operator,
  stack: "Spool",
  newReplayId: () => "replay-1",
  ...extra,
});

beforeEach(() => {
  sqs = fakeSqs();
  audit = new RecordingAudit();
});

describe("dlq replay", () => {
  it("in a dry run, reports the matches and moves, deletes and audits nothing", async () => {
    sqs.put(DLQ, '{"n":1}', metadata("RECIPIENT_SUPPRESSED"));
    sqs.put(DLQ, '{"n":2}', metadata("SCHEMA_INVALID"));
    sqs.put(DLQ, '{"n":3}', metadata("RECIPIENT_SUPPRESSED"));
    sqs.put(DLQ, "not json");

    const outcome = await replayDeadLetters(
      request({ dryRun: true, filter: { errorCodes: ["RECIPIENT_SUPPRESSED"] } }),
      deps(),
    );

    expect(outcome).toMatchObject({ dryRun: true, examined: 4, matched: 2, moved: 0 });
    expect(outcome.messages.map((m) => m.errorCode)).toEqual([
      "RECIPIENT_SUPPRESSED",
      "RECIPIENT_SUPPRESSED",
    ]);
    expect(sqs.mock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(sqs.mock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(audit.calls).toEqual([]);
    // Everything it looked at is visible again at once.
    expect(sqs.visible(DLQ)).toHaveLength(4);
    const text = renderReplay(outcome);
    expect(text).toContain(
      "Dry run: 2 of 4 dead letters examined would move from the DLQ of lab back to it",
    );
    expect(text).toContain("Nothing was moved.");
  });

  it("moves exactly the matches: body byte for byte, attributes without the metadata, plus a replay marker", async () => {
    const body = '{ "recipient": "ä@x.io",\n  "n": 1 }  ';
    const attributes = {
      ...metadata("RECIPIENT_SUPPRESSED"),
      "correlation-id": { DataType: "String", StringValue: "corr-1" },
      tenant: { DataType: "String", StringValue: "acme" },
    };
    const keep = sqs.put(DLQ, '{"recipient":"b@x.io"}', {
      ...metadata("RECIPIENT_SUPPRESSED"),
      tenant: { DataType: "String", StringValue: "globex" },
    });
    sqs.put(DLQ, body, attributes);

    const outcome = await replayDeadLetters(
      request({ filter: { attributes: [{ name: "tenant", value: "acme" }] } }),
      deps(),
    );

    expect(outcome).toMatchObject({ examined: 2, matched: 1, moved: 1, failures: [] });
    const [sent] = sqs.messages(SRC);
    expect(sent?.body).toBe(body);
    expect(Object.keys(sent?.attributes ?? {}).sort()).toEqual(
      ["correlation-id", REPLAY_ATTRIBUTE, "tenant"].sort(),
    );
    expect(JSON.parse(sent?.attributes[REPLAY_ATTRIBUTE]?.StringValue ?? "{}")).toMatchObject({
      replayId: "replay-1",
      replayedBy: operator.principal,
      originalId: "orig-RECIPIENT_SUPPRESSED",
    });
    expect(sqs.messages(DLQ).map((m) => m.id)).toEqual([keep]);
    expect(sqs.visible(DLQ)).toHaveLength(1);
    expect(audit.calls.map((c) => c.kind)).toEqual(["started", "moved", "finished"]);
    expect(audit.calls[2]?.record).toMatchObject({
      status: "completed",
      examined: 2,
      matched: 1,
      moved: 1,
    });
  });

  it("deletes a dead letter only after its send succeeded; a failed send leaves it in the DLQ", async () => {
    sqs.put(DLQ, '{"ok":1}', metadata("X"));
    sqs.put(DLQ, '{"fail":true}', metadata("X"));
    sqs.put(DLQ, '{"ok":2}', metadata("X"));
    const send = sqs.mock.commandCalls(SendMessageCommand);
    void send;
    sqs.mock
      .on(SendMessageCommand, { MessageBody: '{"fail":true}' })
      .rejects(new Error("throttled"));

    const outcome = await replayDeadLetters(request(), deps());

    expect(outcome.moved).toBe(2);
    expect(outcome.failures).toEqual([expect.objectContaining({ error: "throttled" })]);
    expect(sqs.messages(DLQ).map((m) => m.body)).toEqual(['{"fail":true}']);
    expect(sqs.visible(DLQ)).toHaveLength(1);
    // Every delete follows the send of the same message.
    const calls = sqs.mock.calls().map((c) => c.args[0]);
    const order = calls
      .filter((c) => c instanceof SendMessageCommand || c instanceof DeleteMessageCommand)
      .map((c) => (c instanceof SendMessageCommand ? `send ${c.input.MessageBody}` : "delete"));
    expect(order).toEqual([
      'send {"ok":1}',
      "delete",
      'send {"fail":true}',
      'send {"ok":2}',
      "delete",
    ]);
  });

  it("keeps a FIFO message's group and gives it a new, stable deduplication id", async () => {
    const fifo = queue(true);
    sqs.put(fifo.deadLetterQueue.url, '{"seq":1}', metadata("X"), {
      MessageGroupId: "order-7",
      MessageDeduplicationId: "order-7#1",
    });

    await replayDeadLetters(request({ queue: fifo }), deps());

    const [input] = sqs.mock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(input?.MessageGroupId).toBe("order-7");
    expect(input?.MessageDeduplicationId).not.toBe("order-7#1");
    expect(input?.MessageDeduplicationId).toHaveLength(64);
    expect(replayDeduplicationId("a")).toBe(replayDeduplicationId("a"));
    expect(replayDeduplicationId("a")).not.toBe(replayDeduplicationId("b"));
  });

  it("moves at most --limit, and leaves the rest visible", async () => {
    for (let i = 0; i < 5; i++) sqs.put(DLQ, `{"n":${i}}`, metadata("X"));
    const outcome = await replayDeadLetters(request({ limit: 2 }), deps());
    expect(outcome.moved).toBe(2);
    expect(sqs.messages(SRC)).toHaveLength(2);
    expect(sqs.visible(DLQ)).toHaveLength(3);
  });

  it("stops cleanly when interrupted: what it has not moved is back in the DLQ, audited as interrupted", async () => {
    for (let i = 0; i < 6; i++) sqs.put(DLQ, `{"n":${i}}`, metadata("X"));
    const controller = new AbortController();
    audit.onMoved = () => controller.abort();

    const outcome = await replayDeadLetters(request(), deps({ signal: controller.signal }));

    expect(outcome).toMatchObject({ interrupted: true, moved: 1 });
    expect(sqs.messages(SRC)).toHaveLength(1);
    expect(sqs.visible(DLQ)).toHaveLength(5);
    expect(audit.calls.at(-1)?.record).toMatchObject({ status: "interrupted", moved: 1 });
  });

  it("sends an original that already uses all 10 attribute slots without the marker", async () => {
    const ten = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`a${i}`, { DataType: "String", StringValue: `${i}` }]),
    );
    sqs.put(DLQ, "{}", ten);
    await replayDeadLetters(request(), deps());
    const [sent] = sqs.messages(SRC);
    expect(Object.keys(sent?.attributes ?? {})).toHaveLength(10);
    expect(sent?.attributes[REPLAY_ATTRIBUTE]).toBeUndefined();
  });

  it("uses SQS's move task for an unfiltered replay, and follows it to the end", async () => {
    sqs.mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
    sqs.mock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [
          {
            TaskHandle: "task-1",
            Status: "RUNNING",
            ApproximateNumberOfMessagesMoved: 3,
            ApproximateNumberOfMessagesToMove: 7,
          },
        ],
      })
      .resolves({
        Results: [
          {
            TaskHandle: "task-1",
            Status: "COMPLETED",
            ApproximateNumberOfMessagesMoved: 7,
            ApproximateNumberOfMessagesToMove: 7,
          },
        ],
      });

    const outcome = await replayDeadLetters(
      request({ allowNative: true, ratePerSecond: 5 }),
      deps({ sleep: async () => {} }),
    );

    expect(outcome).toMatchObject({
      method: "message-move-task",
      moved: 7,
      moveTaskHandle: "task-1",
    });
    expect(sqs.mock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: queue().deadLetterQueue.arn,
      DestinationArn: queue().arn,
      MaxNumberOfMessagesPerSecond: 5,
    });
    expect(audit.calls[0]?.record).toMatchObject({
      method: "message-move-task",
      moveTaskHandle: "task-1",
    });
    expect(audit.calls.at(-1)?.record).toMatchObject({ status: "completed", moved: 7 });
  });

  it("never uses the move task for a filtered, limited or dry-run replay", async () => {
    sqs.put(DLQ, "{}", metadata("X"));
    await replayDeadLetters(request({ allowNative: true, filter: { errorCodes: ["X"] } }), deps());
    await replayDeadLetters(request({ allowNative: true, limit: 1 }), deps());
    await replayDeadLetters(request({ allowNative: true, dryRun: true }), deps());
    expect(sqs.mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  it("falls back to receive/send/delete where the endpoint lacks the move task", async () => {
    sqs.put(DLQ, "{}", metadata("X"));
    sqs.mock.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error("The action StartMessageMoveTask is not valid for this endpoint."), {
        name: "InvalidAction",
      }),
    );
    const outcome = await replayDeadLetters(request({ allowNative: true }), deps());
    expect(outcome).toMatchObject({ method: "receive-send-delete", moved: 1 });
    expect(outcome.nativeUnavailable).toMatch(/^InvalidAction/);
    expect(renderReplay(outcome)).toContain("SQS's message move task is not available");
  });

  it("refuses a real replay without an audit", async () => {
    await expect(replayDeadLetters(request(), deps({ audit: undefined }))).rejects.toThrow(
      "a replay needs an audit table",
    );
  });
});

describe("reading a dead-letter queue in a long pass", () => {
  it("sees every dead letter once even when holds run out midway, and holds re-read ones longer", async () => {
    let clock = 0;
    const fake = fakeSqs({ now: () => clock });
    for (let i = 0; i < 25; i++) fake.put(DLQ, `{"n":${i}}`);
    const reader = new DeadLetterReader(fake.client, queue(), 30);
    const seen: string[] = [];
    for (;;) {
      const batch = await reader.next(10);
      if (batch.length === 0) break;
      seen.push(...batch.map((l) => l.body));
      clock += 31_000; // every hold so far has run out before the next read
    }
    expect(new Set(seen).size).toBe(25);
    expect(seen).toHaveLength(25);
    const heldLonger = fake.messages(DLQ).filter((m) => m.visibleAt > clock + 800_000);
    expect(heldLonger.length).toBeGreaterThanOrEqual(10);
    await reader.release();
    expect(fake.visible(DLQ)).toHaveLength(25);
  });
});

describe("dead letters without Spool metadata", () => {
  it("tells one moved by SQS's redrive policy from one sent to the DLQ by hand", () => {
    const base = { MessageId: "m-1", ReceiptHandle: "r", Body: "{}" };
    const moved = toDeadLetter(
      {
        ...base,
        Attributes: {
          SentTimestamp: "1700000000000",
          ApproximateReceiveCount: "6",
          DeadLetterQueueSourceArn: "arn:aws:sqs:us-east-1:000:lab",
        },
      },
      queue(),
    );
    expect(moved).toMatchObject({
      via: "redrive",
      reason: "redrive",
      attempts: 5,
      sourceArn: "arn:aws:sqs:us-east-1:000:lab",
      originalId: "m-1",
    });
    const byHand = toDeadLetter(
      { ...base, Attributes: { SentTimestamp: "1700000000000" } },
      queue(),
    );
    expect(byHand).toMatchObject({ via: "unknown", reason: "unknown", attempts: undefined });
  });
});

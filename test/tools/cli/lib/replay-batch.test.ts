import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEAD_LETTER_ATTRIBUTE } from "../../../../lib/spool/runtime/dead-letter.js";
import {
  DynamoReplayAudit,
  type ReplayAudit,
  type ReplayFinished,
  type ReplayMoved,
  type ReplayStarted,
} from "../../../../tools/cli/lib/audit.js";
import {
  type ReplayRequest,
  replayDeadLetters,
  replayDeduplicationId,
  replayShape,
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

const metadata = (n: number): Record<string, MessageAttributeValue> => ({
  [DEAD_LETTER_ATTRIBUTE]: {
    DataType: "String",
    StringValue: JSON.stringify({
      version: 1,
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode: "X",
      errorMessage: "failed",
      messageId: `orig-${n}`,
      attempts: 1,
      firstFailureAt: "2026-12-01T00:00:00.000Z",
      lastFailureAt: "2026-12-01T00:00:00.000Z",
      sourceQueue: "arn:aws:sqs:us-east-1:000:lab",
      schemaVersion: 1,
      consumer: "lab",
    }),
  },
});

/** Records what a replay audits, one call per record whichever way they arrive. */
class BatchAudit implements ReplayAudit {
  readonly moves: ReplayMoved[] = [];
  batches = 0;
  finishedWith: ReplayFinished | undefined;
  async started(_record: ReplayStarted) {}
  async moved(_id: string, record: ReplayMoved) {
    this.moves.push(record);
  }
  async movedAll(_id: string, records: readonly ReplayMoved[]) {
    this.batches++;
    this.moves.push(...records);
  }
  async finished(_id: string, record: ReplayFinished) {
    this.finishedWith = record;
  }
}

const operator = { principal: "arn:aws:iam::000:user/ops", localUser: "ops" };
let sqs: ReturnType<typeof fakeSqs>;
let audit: BatchAudit;

const request = (overrides: Partial<ReplayRequest> = {}): ReplayRequest => ({
  queue: queue(),
  filter: {},
  dryRun: false,
  holdSeconds: 60,
  allowNative: false,
  pipelines: 4,
  batchSize: 10,
  ...overrides,
});
const deps = () => ({
  sqs: sqs.client,
  audit,
  operator,
  stack: "Spool",
  newReplayId: () => "replay-1",
});

beforeEach(() => {
  sqs = fakeSqs();
  audit = new BatchAudit();
});

describe("dlq replay in batches", () => {
  it("sends and deletes ten at a time, and audits each batch in one write", async () => {
    for (let i = 0; i < 30; i++) sqs.put(DLQ, `{"n":${i}}`, metadata(i));

    const outcome = await replayDeadLetters(request(), deps());

    expect(outcome).toMatchObject({ examined: 30, matched: 30, moved: 30, failures: [] });
    expect(sqs.messages(SRC)).toHaveLength(30);
    expect(sqs.messages(DLQ)).toHaveLength(0);
    expect(sqs.mock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
    expect(sqs.mock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(3);
    expect(sqs.mock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(new Set(audit.moves.map((m) => m.deadLetterId)).size).toBe(30);
    expect(audit.batches).toBe(3);
  });

  it("on a partial batch failure deletes only the entries SQS took; the refused stay and are reported", async () => {
    const refused = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const id = sqs.put(DLQ, `{"n":${i}}`, metadata(i));
      if (i % 3 === 0) refused.add(id);
    }
    const refusedBodies = new Set(
      sqs
        .messages(DLQ)
        .filter((m) => refused.has(m.id))
        .map((m) => m.body),
    );
    sqs.refuse = (body) => (refusedBodies.has(body) ? "InternalError" : undefined);

    const outcome = await replayDeadLetters(request({ pipelines: 1 }), deps());

    expect(outcome.moved).toBe(6);
    expect(outcome.failures.map((f) => f.id).sort()).toEqual([...refused].sort());
    expect(outcome.failures[0]?.error).toMatch(/^InternalError/);
    // The refused are still in the DLQ, visible again; the sent ones are gone from it.
    expect(new Set(sqs.messages(DLQ).map((m) => m.id))).toEqual(refused);
    expect(sqs.visible(DLQ)).toHaveLength(4);
    expect(sqs.messages(SRC)).toHaveLength(6);
    // The one delete names exactly the six that were sent, and only they are audited.
    const [deleted] = sqs.mock.commandCalls(DeleteMessageBatchCommand);
    expect(deleted?.args[0].input.Entries).toHaveLength(6);
    expect(audit.moves.map((m) => m.deadLetterId).some((id) => refused.has(id))).toBe(false);
    expect(audit.finishedWith).toMatchObject({ status: "completed", moved: 6, failed: 4 });
  });

  it("deletes nothing of a batch whose send failed as a whole", async () => {
    for (let i = 0; i < 5; i++) sqs.put(DLQ, `{"n":${i}}`, metadata(i));
    sqs.mock.on(SendMessageBatchCommand).rejects(new Error("network down"));

    const outcome = await replayDeadLetters(request({ pipelines: 1 }), deps());

    expect(outcome).toMatchObject({ moved: 0 });
    expect(outcome.failures).toHaveLength(5);
    expect(sqs.mock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
    expect(sqs.mock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqs.visible(DLQ)).toHaveLength(5);
    expect(audit.moves).toEqual([]);
  });

  it("reports a sent letter whose delete failed as not deleted (a duplicate, not a loss)", async () => {
    for (let i = 0; i < 3; i++) sqs.put(DLQ, `{"n":${i}}`, metadata(i));
    sqs.mock.on(DeleteMessageBatchCommand).resolves({
      Successful: [{ Id: "d0" }, { Id: "d2" }],
      Failed: [{ Id: "d1", Code: "InternalError", SenderFault: false }],
    });

    const outcome = await replayDeadLetters(request({ pipelines: 1 }), deps());

    expect(outcome.moved).toBe(3);
    expect(outcome.notDeleted).toHaveLength(1);
    expect(outcome.notDeleted[0]?.error).toMatch(/^InternalError/);
    expect(audit.moves).toHaveLength(3);
  });

  it("stops at the first audit write that fails, with that batch deleted and the rest left in the DLQ", async () => {
    for (let i = 0; i < 25; i++) sqs.put(DLQ, `{"n":${i}}`, metadata(i));
    audit.movedAll = async () => {
      throw new Error("audit table throttled");
    };

    await expect(replayDeadLetters(request({ pipelines: 1 }), deps())).rejects.toThrow(
      "audit table throttled",
    );

    expect(sqs.mock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(sqs.messages(SRC)).toHaveLength(10);
    expect(sqs.messages(DLQ)).toHaveLength(15);
    expect(sqs.visible(DLQ)).toHaveLength(15);
    expect(audit.finishedWith).toMatchObject({ status: "failed", moved: 10 });
  });

  it("keeps each FIFO group in order across parallel pipelines, with its group and a stable deduplication id", async () => {
    const fifo = queue(true);
    const dlq = fifo.deadLetterQueue.url;
    const ids: Record<string, string> = {};
    for (let i = 0; i < 24; i++) {
      const group = ["a", "b", "c"][i % 3] as string;
      ids[`${group}${i}`] = sqs.put(dlq, `${group}${i}`, metadata(i), { MessageGroupId: group });
    }

    const outcome = await replayDeadLetters(request({ queue: fifo, pipelines: 3 }), deps());

    expect(outcome.moved).toBe(24);
    const sent = sqs.messages(fifo.url);
    for (const group of ["a", "b", "c"]) {
      const bodies = sent.filter((m) => m.system.MessageGroupId === group).map((m) => m.body);
      const expected = Object.keys(ids).filter((k) => k.startsWith(group));
      expect(bodies).toEqual(expected);
    }
    for (const m of sent) {
      expect(m.system.MessageDeduplicationId).toBe(replayDeduplicationId(ids[m.body] as string));
    }
  });
});

describe("a FIFO replay after a refused letter", () => {
  it("holds back the rest of that letter's group, so the group never skips one; other groups move", async () => {
    const fifo = queue(true);
    const dlq = fifo.deadLetterQueue.url;
    const ids: Record<string, string> = {};
    for (const body of ["a0", "b0", "a1", "b1", "a2", "a3", "b2"]) {
      ids[body] = sqs.put(dlq, body, metadata(0), { MessageGroupId: body[0] as string });
    }
    sqs.refuse = (body) => (body === "a1" ? "InternalError" : undefined);

    const outcome = await replayDeadLetters(
      request({ queue: fifo, pipelines: 1, batchSize: 1 }),
      deps(),
    );

    expect(sqs.messages(fifo.url).map((m) => m.body)).toEqual(["a0", "b0", "b1", "b2"]);
    expect(sqs.visible(dlq).map((m) => m.body)).toEqual(["a1", "a2", "a3"]);
    expect(outcome.failures).toEqual([
      { id: ids.a1, error: expect.stringContaining("InternalError") },
      { id: ids.a2, error: `held back behind ${ids.a1} of its message group` },
      { id: ids.a3, error: `held back behind ${ids.a1} of its message group` },
    ]);
  });
});

describe("how a replay spreads its work", () => {
  const shape = (overrides: Partial<ReplayRequest>) => replayShape(request(overrides));

  it("keeps the kill-midway shape under a low --rate: one loop, one letter per send", () => {
    expect(shape({ ratePerSecond: 4, holdSeconds: 5 })).toEqual({
      pipelines: 1,
      perReceive: 10,
      perSend: 1,
    });
    // Never more in hand than the rate sends in half the hold.
    expect(shape({ ratePerSecond: 0.5, holdSeconds: 5 })).toEqual({
      pipelines: 1,
      perReceive: 1,
      perSend: 1,
    });
    expect(shape({ ratePerSecond: 1_000, holdSeconds: 60 })).toMatchObject({
      pipelines: 4,
      perSend: 1,
    });
  });

  it("batches without a rate, and a dry run ignores the rate", () => {
    expect(shape({})).toEqual({ pipelines: 4, perReceive: 10, perSend: 10 });
    expect(shape({ dryRun: true, ratePerSecond: 1 })).toMatchObject({ pipelines: 4 });
    expect(replayShape({ ...request(), pipelines: undefined, batchSize: undefined })).toEqual({
      pipelines: 1,
      perReceive: 10,
      perSend: 1,
    });
  });
});

describe("DynamoReplayAudit.movedAll", () => {
  it("writes a batch's records 25 to a call and writes again what DynamoDB left unprocessed", async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    let first = true;
    ddb.on(BatchWriteCommand).callsFake((input) => {
      const requests = input.RequestItems.audit;
      if (!first) return {};
      first = false;
      return { UnprocessedItems: { audit: requests.slice(0, 2) } };
    });
    const dynamo = new DynamoReplayAudit(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
      "audit",
    );
    const records = Array.from({ length: 20 }, (_, i) => ({
      deadLetterId: `dl-${i}`,
      originalId: `o-${i}`,
      newMessageId: `m-${i}`,
      errorCode: "X",
      movedAt: "2026-12-06T00:00:00.000Z",
      replayCount: i < 10 ? 1 : 2,
      ...(i < 10 ? {} : { previousReplayId: "replay-0", previousDeadLetterId: `old-${i}` }),
    }));

    await dynamo.movedAll("replay-1", records);

    const calls = ddb
      .commandCalls(BatchWriteCommand)
      .map((c) => c.args[0].input.RequestItems?.audit);
    // 20 message items and 10 again# items: 25, the 2 left unprocessed again, then 5.
    expect(calls.map((c) => c?.length)).toEqual([25, 2, 5]);
    const keys = calls.flat().map((r) => `${r?.PutRequest?.Item?.pk} ${r?.PutRequest?.Item?.sk}`);
    expect(new Set(keys).size).toBe(30);
    expect(keys).toContain("replay#replay-1 message#dl-19");
    expect(keys).toContain("replay#replay-0 again#old-19");
    ddb.restore();
  });
});

describe("dlq replay --rate with parallel pipelines", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends no faster than the rate over any window, one bucket shared by every pipeline", async () => {
    const rate = 400;
    const count = 60;
    for (let i = 0; i < count; i++) sqs.put(DLQ, `{"n":${i}}`, metadata(i));
    const sentAt: number[] = [];
    sqs.mock.on(SendMessageCommand).callsFake((input) => {
      sentAt.push(performance.now());
      return { MessageId: sqs.put(input.QueueUrl, input.MessageBody) };
    });
    const req = request({ ratePerSecond: rate, pipelines: 8 });
    expect(replayShape(req)).toMatchObject({ pipelines: 4, perSend: 1 });

    const started = performance.now();
    const running = replayDeadLetters(req, deps());
    await vi.runAllTimersAsync();
    const outcome = await running;
    const calls = sqs.mock.calls().map((c) => c.args[0]);
    const receivesBeforeFirstSend = calls
      .slice(
        0,
        calls.findIndex((c) => c instanceof SendMessageCommand),
      )
      .filter((c) => c instanceof ReceiveMessageCommand).length;

    expect(outcome.moved).toBe(count);
    expect(sentAt).toHaveLength(count);
    // The k-th send no sooner than k tokens' worth of time after the start (the bucket starts
    // with one token), and the whole run no slower than the rate either.
    sentAt.forEach((t, k) => {
      expect(t - started).toBeGreaterThanOrEqual((k * 1000) / rate - 1e-6);
    });
    expect((sentAt.at(-1) ?? 0) - started).toBeLessThanOrEqual(((count - 1) * 1000) / rate + 5);
    // Several pipelines were receiving before the first send.
    expect(receivesBeforeFirstSend).toBeGreaterThan(1);
  });
});

import { Logger } from "@aws-lambda-powertools/logger";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  chunkEnd,
  continuationKey,
  isContinued,
  runChunk,
} from "../../../../lib/spool/runtime/continuation.js";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: "us-east-1" });
const QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/long";
const logger = new Logger({ serviceName: "test", logLevel: "SILENT" });

function args(over: Partial<Parameters<typeof runChunk>[0]> = {}) {
  const done: number[] = [];
  const reportProgress = vi.fn(async () => undefined);
  return {
    done,
    reportProgress,
    chunk: {
      sqs,
      queueUrl: QUEUE,
      cursor: 0,
      total: 10,
      itemsPerChunk: 4,
      ctx: { cancelled: async () => false, reportProgress, correlationId: "corr-1", logger },
      item: async (i: number) => {
        done.push(i);
      },
      next: (cursor: number) => ({ jobKey: "j", cursor }),
      ...over,
    },
  };
}

const sent = () =>
  sqsMock.commandCalls(SendMessageCommand).map((c) => ({
    queueUrl: c.args[0].input.QueueUrl,
    body: JSON.parse(c.args[0].input.MessageBody ?? "null"),
    correlationId: c.args[0].input.MessageAttributes?.["correlation-id"]?.StringValue,
  }));

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "m" });
});

describe("cursor math", () => {
  it("ends a chunk itemsPerChunk on, or at the job's end", () => {
    expect(chunkEnd(0, 10, 4)).toBe(4);
    expect(chunkEnd(8, 10, 4)).toBe(10);
    expect(chunkEnd(10, 10, 4)).toBe(10);
  });

  it("keys the first message by the job key and each continuation by key and cursor", () => {
    expect(continuationKey("j", 0)).toBe("j");
    expect(continuationKey("j", 4)).toBe("j#4");
  });

  it("recognizes a continued result, and nothing else", () => {
    expect(isContinued({ spoolContinued: { from: 0, next: 4 } })).toBe(true);
    for (const other of [
      undefined,
      null,
      "x",
      {},
      { spoolContinued: true },
      { status: "continued" },
    ]) {
      expect(isContinued(other)).toBe(false);
    }
  });
});

describe("runChunk", () => {
  it("does one chunk, reports each item, and sends the next cursor once, last", async () => {
    const a = args({ cursor: 4 });
    const outcome = await runChunk(a.chunk);
    expect(a.done).toEqual([4, 5, 6, 7]);
    expect(a.reportProgress).toHaveBeenLastCalledWith(8, 10, "item 8 of 10");
    expect(outcome).toMatchObject({ status: "continued", from: 4, next: 8 });
    expect(isContinued(outcome)).toBe(true);
    expect(sent()).toEqual([
      { queueUrl: QUEUE, body: { jobKey: "j", cursor: 8 }, correlationId: "corr-1" },
    ]);
  });

  it("sends the continuation as its tenant's, when the record has one", async () => {
    const a = args({ cursor: 4 });
    await runChunk({ ...a.chunk, ctx: { ...a.chunk.ctx, tenantId: "acme" } });
    const input = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(input?.MessageAttributes?.["tenant-id"]?.StringValue).toBe("acme");
    expect(input?.MessageGroupId).toBe("acme");
  });

  it("completes on the last chunk without sending anything", async () => {
    const a = args({ cursor: 8 });
    const outcome = await runChunk(a.chunk);
    expect(a.done).toEqual([8, 9]);
    expect(outcome).toEqual({ status: "completed", from: 8, done: 10 });
    expect(isContinued(outcome)).toBe(false);
    expect(sent()).toEqual([]);
  });

  it("a retry of a chunk that failed after its send sends the same cursor again", async () => {
    const first = await runChunk(args({ cursor: 0 }).chunk);
    const retry = await runChunk(args({ cursor: 0 }).chunk);
    expect(first).toEqual(retry);
    expect(sent().map((s) => s.body.cursor)).toEqual([4, 4]);
    expect(new Set(sent().map((s) => continuationKey("j", s.body.cursor))).size).toBe(1);
  });

  it("sends nothing when an item fails: the retry starts the chunk again", async () => {
    const a = args({
      item: async (i) => {
        if (i === 2) throw new Error("item down");
      },
    });
    await expect(runChunk(a.chunk)).rejects.toThrow("item down");
    expect(sent()).toEqual([]);
  });

  it("stops before the next item once canceled and sends no continuation", async () => {
    let checks = 0;
    const a = args({});
    const outcome = await runChunk({
      ...a.chunk,
      ctx: { ...a.chunk.ctx, cancelled: async () => ++checks > 2 },
    });
    expect(outcome).toEqual({ status: "canceled", from: 0, stoppedAt: 2 });
    expect(a.done).toEqual([0, 1]);
    expect(sent()).toEqual([]);
  });

  it("ends the chunk early when less than one item's time is left, and goes on from there", async () => {
    let left = 10_000;
    const a = args({ itemMillis: 3_000 });
    const outcome = await runChunk({
      ...a.chunk,
      ctx: { ...a.chunk.ctx, remainingMillis: () => left },
      item: async (i) => {
        a.done.push(i);
        left -= 4_000;
      },
    });
    // 10 s left: item 0; 6 s: item 1; 2 s < 3 s: stop before item 2.
    expect(a.done).toEqual([0, 1]);
    expect(outcome).toMatchObject({ status: "continued", next: 2 });
    expect(sent().map((s) => s.body.cursor)).toEqual([2]);
  });

  it("always does the chunk's first item, however little time is left (no empty chain)", async () => {
    const a = args({ itemMillis: 3_000 });
    const outcome = await runChunk({
      ...a.chunk,
      ctx: { ...a.chunk.ctx, remainingMillis: () => 0 },
    });
    expect(a.done).toEqual([0]);
    expect(outcome).toMatchObject({ status: "continued", next: 1 });
  });

  it.each([
    { cursor: 11, total: 10, itemsPerChunk: 4 },
    { cursor: -1, total: 10, itemsPerChunk: 4 },
    { cursor: 1.5, total: 10, itemsPerChunk: 4 },
    { cursor: 0, total: 10, itemsPerChunk: 0 },
  ])("refuses a cursor that cannot fit its job as permanent: %o", async (plan) => {
    const a = args(plan);
    const error = await runChunk(a.chunk).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: "SCHEMA_INVALID", details: plan });
    expect(a.done).toEqual([]);
  });
});

/**
 * The record pipeline with a visibility heartbeat (heartbeat.ts): which records are extended
 * while they run or wait, and that each heartbeat ends with its record.
 */
import { ChangeMessageVisibilityBatchCommand } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HeartbeatPolicy } from "../../../../lib/spool/runtime/consumer-config.js";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import { FIRST_RECEIVED_MS, lambdaContext, sqsEvent } from "../../../helpers/sqs.js";
import {
  body,
  deadLetters,
  failedIds,
  fifoRecord,
  type Harness,
  harness,
  type Message,
  record,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

const HEARTBEAT: HeartbeatPolicy = { everySeconds: 10, extendBySeconds: 30 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(FIRST_RECEIVED_MS + 1_000);
});

afterEach(() => {
  vi.useRealTimers();
});

/** Runs the handler while the fake clock moves `ms` forward; the response. */
async function run(
  h: Harness,
  ms: number,
  remainingMs: number,
  ...records: Parameters<typeof sqsEvent>
) {
  const response = h.handler(sqsEvent(...records), lambdaContext(remainingMs));
  await vi.advanceTimersByTimeAsync(ms);
  return response;
}

/** Extensions (not retry delays: those set 0 or a backoff) per receipt handle. */
function extensionsOf(receiptHandle: string) {
  return visibilityChanges().filter(
    (c) => c.receiptHandle === receiptHandle && c.visibilityTimeout === 30,
  ).length;
}

describe("a consumer with a heartbeat", () => {
  it("keeps a long record hidden while it runs and stops when it succeeds", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async (message: Message) => {
        await sleep(25_000);
        return { handled: message.id };
      },
    });
    const response = await run(h, 25_000, 60_000, record({ messageId: "m-1", body: body("a") }));
    expect(await response).toEqual({ batchItemFailures: [] });
    // Beats at 10 s and 20 s; none after the record ended.
    expect(extensionsOf("receipt-m-1")).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(visibilityChanges()).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sends nothing for a record that ends before the first beat", async () => {
    const h = harness({ config: { heartbeat: HEARTBEAT } });
    const response = await run(h, 0, 60_000, record({ messageId: "m-1", body: body("a") }));
    expect(await response).toEqual({ batchItemFailures: [] });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(visibilityChanges()).toEqual([]);
  });

  it("extends each record of a batch until that record ends", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async (message: Message) => {
        await sleep(message.amount);
        return { handled: message.id };
      },
    });
    await run(
      h,
      45_000,
      60_000,
      record({ messageId: "short", body: body("a", { amount: 15_000 }) }),
      record({ messageId: "long", body: body("b", { amount: 45_000 }) }),
    );
    expect(extensionsOf("receipt-short")).toBe(1);
    expect(extensionsOf("receipt-long")).toBe(4);
  });

  it("stops when the record fails, before its retry delay is set", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async () => {
        await sleep(15_000);
        throw new Error("downstream unavailable");
      },
    });
    const response = await run(h, 15_000, 60_000, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(await response)).toEqual(["m-1"]);
    await vi.advanceTimersByTimeAsync(60_000);
    // One extension at 10 s, then the retry delay (backoff 2 s * jitter 0.5 → 1 s) as the last word.
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([30, 1]);
  });

  it("stops when a permanent failure is dead-lettered", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async () => {
        await sleep(12_000);
        throw new PermanentError("no such customer");
      },
    });
    const response = await run(h, 12_000, 60_000, record({ messageId: "m-1", body: body("a") }));
    expect(await response).toEqual({ batchItemFailures: [] });
    expect(deadLetters()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(extensionsOf("receipt-m-1")).toBe(1);
  });

  it("stops at the record's deadline, though the step goes on", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async (message: Message) => {
        await sleep(120_000);
        return { handled: message.id };
      },
    });
    // 30 s left: the record is given up at 28 s (recordDeadlineMs), as without a heartbeat.
    const response = await run(h, 28_000, 30_000, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(await response)).toEqual(["m-1"]);
    // Two beats, then the retry delay: no sooner than the 30 s lease (record-deadline.ts).
    expect(extensionsOf("receipt-m-1")).toBe(3);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(extensionsOf("receipt-m-1")).toBe(3);
  });

  it("does not fail a record whose extensions fail", async () => {
    sqsMock.on(ChangeMessageVisibilityBatchCommand).rejects(new Error("SQS unavailable"));
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async (message: Message) => {
        await sleep(25_000);
        return { handled: message.id };
      },
    });
    const response = await run(h, 25_000, 60_000, record({ messageId: "m-1", body: body("a") }));
    expect(await response).toEqual({ batchItemFailures: [] });
    expect(h.metricNames()).toEqual(["HeartbeatFailed", "HeartbeatFailed", "Processed"]);
  });

  it("keeps a FIFO record hidden while it waits behind the records before it", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async (message: Message) => {
        await sleep(14_000);
        return { handled: message.id };
      },
    });
    // One after another: f-2 waits 14 s for f-1, then runs 14 s; the beat at 10 s covers both.
    await run(h, 28_000, 60_000, fifoRecord("f-1", "g-1"), fifoRecord("f-2", "g-2"));
    expect(extensionsOf("receipt-f-1")).toBe(1);
    expect(extensionsOf("receipt-f-2")).toBe(2);
  });

  it("stops a FIFO record skipped behind a failed predecessor when the batch ends", async () => {
    const h = harness({
      config: { heartbeat: HEARTBEAT },
      process: async () => {
        await sleep(15_000);
        throw new Error("downstream unavailable");
      },
    });
    const response = await run(
      h,
      15_000,
      60_000,
      fifoRecord("f-1", "g-1"),
      fifoRecord("f-2", "g-1"),
    );
    expect(failedIds(await response)).toEqual(["f-1", "f-2"]);
    await vi.advanceTimersByTimeAsync(60_000);
    // Both extended at 10 s; then only their retry delays (the skipped one comes back at once).
    const changes = visibilityChanges().map((c) => [c.receiptHandle, c.visibilityTimeout]);
    expect(changes.slice(0, 2)).toEqual([
      ["receipt-f-1", 30],
      ["receipt-f-2", 30],
    ]);
    expect(changes.slice(2).map(([, seconds]) => seconds)).not.toContain(30);
    expect(vi.getTimerCount()).toBe(0);
  });
});

import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import type { RecordContext } from "../../../../lib/spool/runtime/consumer-types.js";
import { continuationKey, runChunk } from "../../../../lib/spool/runtime/continuation.js";
import { FakeQueueJobs } from "../../../helpers/fake-queue-jobs.js";
import {
  body,
  failedIds,
  harness,
  invoke,
  type Message,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

/**
 * A job done in chunks through the consumer (continuation.ts with job-tracking.ts): the harness's
 * message `id` is the job key and `amount` the cursor; each message has its own idempotency key
 * and all of them name one job.
 */

const JOB = "test-kind:a";
const TOTAL = 10;

function chunkedJob(effects: Map<number, number>, failAfterSend?: { cursor: number }) {
  return {
    idempotencyKey: (m: Message) => continuationKey(m.id, m.amount),
    jobKey: (m: Message) => m.id,
    process: async (m: Message, ctx: RecordContext) => {
      const outcome = await runChunk({
        sqs: new SQSClient({ region: "us-east-1" }),
        queueUrl: ctx.queueUrl ?? "no queue",
        cursor: m.amount,
        total: TOTAL,
        itemsPerChunk: 4,
        ctx,
        item: async (i) => {
          effects.set(i, (effects.get(i) ?? 0) + 1);
        },
        next: (cursor) => body(m.id, { amount: cursor }),
      });
      if (failAfterSend?.cursor === m.amount && ctx.attempt === 1) {
        throw new Error("died after the send, before the result was stored");
      }
      // The outcome itself goes back: its mark keeps the job RUNNING until the last chunk.
      return { ...outcome, handled: outcome.status };
    },
  };
}

/** The continuations sent to the consumer's own queue so far, as bodies. */
const continuations = () =>
  sqsMock
    .commandCalls(SendMessageCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.QueueUrl === SOURCE_URL)
    .map((input) => JSON.parse(input.MessageBody ?? "null") as Message);

describe("a job longer than one message", () => {
  it("runs chunk after chunk as one job: RUNNING until the last, one effect per item", async () => {
    const jobs = new FakeQueueJobs();
    const effects = new Map<number, number>();
    const h = harness({ jobs, ...chunkedJob(effects) });
    await invoke(h, record({ messageId: "m-0", body: body("a", { amount: 0 }) }));
    expect(jobs.history.get(JOB)).toEqual(["RUNNING"]);
    expect(jobs.progress.get(JOB)).toMatchObject({ done: 4, total: TOTAL });
    for (let n = 0; n < continuations().length; n++) {
      const next = continuations()[n];
      const response = await invoke(h, record({ messageId: `m-${n + 1}`, body: next }));
      expect(failedIds(response)).toEqual([]);
    }
    expect(continuations().map((m) => m.amount)).toEqual([4, 8]);
    expect(h.process).toHaveBeenCalledTimes(3);
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(jobs.progress.get(JOB)).toMatchObject({ done: TOTAL, total: TOTAL });
    expect([...effects.entries()].sort((x, y) => x[0] - y[0])).toEqual(
      Array.from({ length: TOTAL }, (_, i) => [i, 1]),
    );
  });

  it("a chunk retried after its send sends the same cursor, and the second copy is a duplicate", async () => {
    const jobs = new FakeQueueJobs();
    const effects = new Map<number, number>();
    const h = harness({ jobs, ...chunkedJob(effects, { cursor: 0 }) });
    const first = await invoke(h, record({ messageId: "m-0", body: body("a", { amount: 0 }) }));
    expect(failedIds(first)).toEqual(["m-0"]);
    await invoke(h, record({ messageId: "m-0", body: body("a", { amount: 0 }), attempt: 2 }));
    expect(continuations().map((m) => m.amount)).toEqual([4, 4]);
    // Both copies of cursor 4 arrive: the second finds the first one's stored result.
    for (const [n, next] of continuations().entries()) {
      await invoke(h, record({ messageId: `c-${n}`, body: next }));
    }
    expect(h.metricNames()).toContain("DuplicatesSuppressed");
    // Its own continuation (cursor 8) once, and the job finishes once.
    expect(continuations().map((m) => m.amount)).toEqual([4, 4, 8]);
    await invoke(h, record({ messageId: "c-last", body: continuations()[2] }));
    expect(jobs.history.get(JOB)).toEqual(["RUNNING", "RETRYING", "RUNNING", "SUCCEEDED"]);
    // Items 0-3 ran twice (the failed chunk's retry: their effect must be idempotent), the rest once.
    expect(Array.from({ length: TOTAL }, (_, i) => effects.get(i))).toEqual([
      2, 2, 2, 2, 1, 1, 1, 1, 1, 1,
    ]);
  });

  it("drops a continuation whose job was canceled, without running it", async () => {
    const jobs = new FakeQueueJobs();
    const effects = new Map<number, number>();
    const h = harness({ jobs, ...chunkedJob(effects) });
    await invoke(h, record({ messageId: "m-0", body: body("a", { amount: 0 }) }));
    jobs.move(JOB, "CANCELED");
    const response = await invoke(h, record({ messageId: "m-1", body: continuations()[0] }));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.metricNames()).toContain("CanceledDropped");
    expect(effects.size).toBe(4);
    expect(jobs.status(JOB)).toBe("CANCELED");
  });
});

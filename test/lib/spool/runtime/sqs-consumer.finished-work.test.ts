import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it, vi } from "vitest";
import { CORRELATION_ID_ATTRIBUTE } from "../../../../lib/spool/runtime/correlation.js";
import { MAX_REQUEUES } from "../../../../lib/spool/runtime/failure-policy.js";
import { REQUEUES_ATTRIBUTE } from "../../../../lib/spool/runtime/requeue.js";
import { lambdaContext, sqsEvent, stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  DLQ_URL,
  failedIds,
  fifoRecord,
  harness,
  invoke,
  metadataOf,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

/** Work dead-lettered although it is done, or still may be, sends an operator after nothing. */

const sent = (queueUrl: string) =>
  sqsMock
    .commandCalls(SendMessageCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.QueueUrl === queueUrl);

const failing = async () => {
  throw new Error("still broken");
};
/** What Powertools throws when another delivery holds the same key's in-progress record. */
const heldElsewhere = async () => {
  throw Object.assign(new Error("held by another delivery"), {
    name: "IdempotencyAlreadyInProgressError",
  });
};

describe("a record out of attempts whose effect is done (isDone)", () => {
  it("is acknowledged, not dead-lettered, when the effect boundary says its work is done", async () => {
    const isDone = vi.fn(async () => true);
    const h = harness({ process: failing, isDone });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    expect(sent(DLQ_URL)).toEqual([]);
    expect(isDone).toHaveBeenCalledWith(expect.objectContaining({ id: "a" }));
    expect(h.metricNames()).toContain("DuplicatesSuppressed");
  });

  it("is dead-lettered when the effect is not done, or the check itself fails", async () => {
    for (const isDone of [async () => false, async () => Promise.reject(new Error("no table"))]) {
      sqsMock.resetHistory();
      const h = harness({ process: failing, isDone });
      await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
      expect(metadataOf(sent(DLQ_URL)[0]).reason).toBe("retries-exhausted");
    }
  });

  it("asks again when the check is throttled, and acknowledges work it then finds done", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), {
      name: "ProvisionedThroughputExceededException",
    });
    const isDone = vi.fn().mockRejectedValueOnce(throttled).mockResolvedValueOnce(true);
    const h = harness({ process: failing, isDone });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    expect(sent(DLQ_URL)).toEqual([]);
    expect(isDone).toHaveBeenCalledTimes(2);
  });

  it("gives the check three tries when it stays throttled, then dead-letters", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    const isDone = vi.fn(async () => Promise.reject(throttled));
    const h = harness({ process: failing, isDone });
    await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(isDone).toHaveBeenCalledTimes(3);
    expect(metadataOf(sent(DLQ_URL)[0]).reason).toBe("retries-exhausted");
  });

  it("is asked about a record given up before it started (no time left), with its body read then", async () => {
    // 100 ms left: the deadline (less a 200 ms margin) has passed before the record starts, so
    // the pipeline never read its body; the lookup must read it, or done work is dead-lettered.
    const isDone = vi.fn(async () => true);
    const process = vi.fn(failing);
    const h = harness({ process, isDone });
    const response = await h.handler(
      sqsEvent(record({ messageId: "m-1", body: body("a"), attempt: 5 })),
      lambdaContext(100),
    );
    expect(process).not.toHaveBeenCalled();
    expect(isDone).toHaveBeenCalledWith(expect.objectContaining({ id: "a" }));
    expect(failedIds(response)).toEqual([]);
    expect(sent(DLQ_URL)).toEqual([]);
  });

  it("is not asked while attempts are left: a retry costs no read", async () => {
    const isDone = vi.fn(async () => true);
    const h = harness({ process: failing, isDone });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 2 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(isDone).not.toHaveBeenCalled();
  });
});

describe("a record out of attempts while another delivery holds its work", () => {
  it("is sent again as a new message after the lease, carrying its attributes, then acknowledged", async () => {
    const h = harness({ process: heldElsewhere });
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: body("a"),
        attempt: 5,
        messageAttributes: { [CORRELATION_ID_ATTRIBUTE]: stringAttribute("corr-1") },
      }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(sent(DLQ_URL)).toEqual([]);
    const [copy] = sent(SOURCE_URL);
    expect(copy).toMatchObject({
      MessageBody: JSON.stringify(body("a")),
      // The lease: this invocation's remaining time (30 s in the harness).
      DelaySeconds: 30,
      MessageAttributes: {
        [CORRELATION_ID_ATTRIBUTE]: { DataType: "String", StringValue: "corr-1" },
        [REQUEUES_ATTRIBUTE]: { DataType: "Number", StringValue: "1" },
      },
    });
    expect(h.metricNames()).toContain("Requeued");
  });

  it(`counts its re-sends and is dead-lettered after ${MAX_REQUEUES}`, async () => {
    const again = harness({ process: heldElsewhere });
    await invoke(
      again,
      record({
        messageId: "m-2",
        body: body("a"),
        attempt: 5,
        messageAttributes: {
          [REQUEUES_ATTRIBUTE]: { ...stringAttribute("2"), dataType: "Number" },
        },
      }),
    );
    expect(sent(SOURCE_URL)[0]?.MessageAttributes?.[REQUEUES_ATTRIBUTE]?.StringValue).toBe("3");

    sqsMock.resetHistory();
    const last = harness({ process: heldElsewhere });
    await invoke(
      last,
      record({
        messageId: "m-3",
        body: body("a"),
        attempt: 5,
        messageAttributes: {
          [REQUEUES_ATTRIBUTE]: { ...stringAttribute(String(MAX_REQUEUES)), dataType: "Number" },
        },
      }),
    );
    expect(sent(SOURCE_URL)).toEqual([]);
    expect(metadataOf(sent(DLQ_URL)[0]).reason).toBe("retries-exhausted");
  });

  it("is dead-lettered instead when the copy cannot be sent (it is never dropped)", async () => {
    sqsMock.on(SendMessageCommand, { QueueUrl: SOURCE_URL }).rejects(new Error("AccessDenied"));
    const h = harness({ process: heldElsewhere });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    expect(metadataOf(sent(DLQ_URL)[0]).reason).toBe("retries-exhausted");
  });

  it("is dead-lettered on a FIFO queue, where a copy would lose its place in its group", async () => {
    const h = harness({ process: heldElsewhere });
    const fifo = { ...fifoRecord("m-1", "g-1", "a") };
    const response = await invoke(h, {
      ...fifo,
      attributes: { ...fifo.attributes, ApproximateReceiveCount: "5" },
    });
    expect(failedIds(response)).toEqual([]);
    expect(sent(SOURCE_URL.replace(/q$/, "q.fifo"))).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(metadataOf(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input).reason).toBe(
      "retries-exhausted",
    );
  });
});

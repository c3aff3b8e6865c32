import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { MAX_HOLD_SECONDS, secondsUntil } from "../../../../lib/spool/runtime/retry-delays.js";
import { stringAttribute } from "../../../helpers/sqs.js";
import {
  body,
  failedIds,
  harness,
  invoke,
  NOW,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

/** A message whose notBefore is in its first tag (the harness's schema has no time field). */
const dueIn = (id: string, ms: number) =>
  body(id, { tags: [new Date(NOW.getTime() + ms).toISOString()] });
const notBefore = (m: { tags?: string[] | undefined }) => m.tags?.[0];

function resent() {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

describe("secondsUntil", () => {
  it("rounds the time left up to whole seconds, never early; 0 when due or unset", () => {
    expect(secondsUntil(new Date(NOW.getTime() + 1), NOW)).toBe(1);
    expect(secondsUntil(new Date(NOW.getTime() + 41_200), NOW)).toBe(42);
    expect(secondsUntil(new Date(NOW.getTime() + 60_000).toISOString(), NOW)).toBe(60);
    expect(secondsUntil(NOW, NOW)).toBe(0);
    expect(secondsUntil(new Date(NOW.getTime() - 5_000), NOW)).toBe(0);
    expect(secondsUntil(undefined, NOW)).toBe(0);
  });

  it("refuses a notBefore that is not a date", () => {
    expect(() => secondsUntil("soon", NOW)).toThrow(/notBefore must be a date, got soon/);
  });
});

describe("a record that arrives before its notBefore", () => {
  it("is sent again with DelaySeconds = the seconds left, rounded up, and not processed", async () => {
    const h = harness({ notBefore });
    const early = record({
      messageId: "m-1",
      body: dueIn("a", 41_200),
      messageAttributes: { "correlation-id": stringAttribute("corr-1") },
    });
    const response = await invoke(h, early);

    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    expect(resent()).toEqual([
      {
        QueueUrl: SOURCE_URL,
        MessageBody: early.body,
        MessageAttributes: { "correlation-id": { DataType: "String", StringValue: "corr-1" } },
        DelaySeconds: 42,
      },
    ]);
    // Not a failure, and no idempotency record: the copy will run when it arrives.
    expect(h.metricNames()).toEqual(["Held"]);
    expect(h.store?.table.size).toBe(0);
    expect(visibilityChanges()).toEqual([]);
  });

  it("waits at most 900 s per hop: a longer wait is held again when the copy arrives", async () => {
    const h = harness({ notBefore });
    await invoke(h, record({ messageId: "m-1", body: dueIn("a", 3_600_000) }));
    expect(resent()[0]?.DelaySeconds).toBe(MAX_HOLD_SECONDS);
    expect(h.process).not.toHaveBeenCalled();
  });

  it("runs once, when the copy arrives on time", async () => {
    const h = harness({ notBefore });
    const message = dueIn("a", 30_000);
    await invoke(h, record({ messageId: "m-1", body: message }));
    expect(h.process).not.toHaveBeenCalled();

    const onTime = harness({ notBefore, store: h.store ?? null });
    const later = { ...message, tags: [new Date(NOW.getTime()).toISOString()] };
    await invoke(onTime, record({ messageId: "m-2", body: later }));
    await invoke(onTime, record({ messageId: "m-3", body: later }));
    expect(onTime.process).toHaveBeenCalledOnce();
    expect(onTime.metricNames()).toEqual(["Processed", "DuplicatesSuppressed"]);
  });

  it("on a FIFO queue stays on the queue, invisible for the seconds left, not counted as a retry", async () => {
    const h = harness({ notBefore });
    const early = record({ messageId: "m-1", body: dueIn("a", 20_500), fifo: true });
    const behind = record({ messageId: "m-2", body: body("b"), fifo: true });
    const response = await invoke(h, early, behind);

    expect(h.process).not.toHaveBeenCalled();
    expect(failedIds(response)).toEqual(["m-1", "m-2"]);
    expect(visibilityChanges()).toEqual([
      expect.objectContaining({ receiptHandle: "receipt-m-1", visibilityTimeout: 21 }),
      // Its group waits behind it, as behind any head that is not done.
      expect.objectContaining({ receiptHandle: "receipt-m-2", visibilityTimeout: 0 }),
    ]);
    expect(resent()).toEqual([]);
    expect(h.metricNames()).not.toContain("Retried");
    expect(h.metricNames()).toContain("Held");
  });
});

describe("a record that arrives on or after its notBefore", () => {
  it("is processed at once", async () => {
    const h = harness({ notBefore });
    await invoke(h, record({ messageId: "m-1", body: dueIn("a", 0) }));
    await invoke(h, record({ messageId: "m-2", body: dueIn("b", -10_000) }));
    expect(h.process).toHaveBeenCalledTimes(2);
    expect(resent()).toEqual([]);
  });
});

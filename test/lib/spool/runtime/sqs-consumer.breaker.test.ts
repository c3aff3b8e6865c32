/**
 * A record whose dependency's breaker is open (circuit-breaker.ts) in the record pipeline: on a
 * standard queue it is deferred as a delayed copy that burns no delivery, on a FIFO queue it is
 * retried in place after the cool-down.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { TransientError } from "../../../../lib/spool/runtime/errors.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

const open = () =>
  Promise.reject(
    new TransientError("dependency provider is unavailable (circuit open): not called", {
      code: "DEPENDENCY_OPEN",
      details: { dependency: "provider", retryAfterSeconds: 20 },
    }),
  );

describe("a record whose dependency's breaker is open", () => {
  it("is deferred on a standard queue, even on its last delivery: a copy after the cool-down, no dead letter", async () => {
    const h = harness({ process: open });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    const sent = deadLetters();
    expect(sent).toEqual([
      {
        QueueUrl: SOURCE_URL,
        MessageBody: JSON.stringify(body("a")),
        MessageAttributes: {},
        // The cool-down left (20 s) plus jitter (0.5 in the harness) of as much again.
        DelaySeconds: 30,
      },
    ]);
    expect(visibilityChanges()).toEqual([]);
    // The in-progress idempotency record is gone, so the copy runs the step.
    expect(h.store?.table.size).toBe(0);
    expect(h.metricNames()).not.toContain("DeadLettered");
  });

  it("is retried in place on a FIFO queue, no sooner than the cool-down", async () => {
    const h = harness({ process: open });
    const response = await invoke(
      h,
      record({ messageId: "f-1", body: body("a"), fifo: true, attempt: 1 }),
    );
    expect(failedIds(response)).toEqual(["f-1"]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([20]);
    expect(deadLetters()).toEqual([]);
  });

  it("is retried after the cool-down when the copy cannot be sent", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("SQS unavailable"));
    const h = harness({ process: open });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 1 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([20]);
  });
});

import { ChangeMessageVisibilityBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { fullJitterDelaySeconds } from "../../../../lib/spool/runtime/backoff.js";
import { DEAD_LETTER_ATTRIBUTE } from "../../../../lib/spool/runtime/dead-letter.js";
import { PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import { FAULT_ATTRIBUTE, FaultInjector, NO_FAULTS } from "../../../../lib/spool/runtime/faults.js";
import { SQS_MAX_MESSAGE_BYTES } from "../../../../lib/spool/runtime/limits.js";
import {
  parseReplayMarker,
  REPLAY_ATTRIBUTE,
} from "../../../../lib/spool/runtime/replay-marker.js";
import { STANDARD_QUEUE_ARN, stringAttribute } from "../../../helpers/sqs.js";
import {
  BACKOFF,
  body,
  DLQ_URL,
  deadLetters,
  failedIds,
  HALF,
  harness,
  invoke,
  metadataOf,
  NOW,
  record,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

describe("permanent failures", () => {
  it("dead-letters malformed JSON at once with the original body, without processing it", async () => {
    const h = harness();
    const raw = '{"schemaVersion": 1, "id": "a",';
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: raw,
        messageAttributes: { "correlation-id": stringAttribute("corr-1") },
      }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    const sent = deadLetters();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.QueueUrl).toBe(DLQ_URL);
    expect(sent[0]?.MessageBody).toBe(raw);
    expect(sent[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.DataType).toBe("String");
    const metadata = metadataOf(sent[0]);
    expect(metadata).toMatchObject({
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode: "MALFORMED_JSON",
      messageId: "m-1",
      attempts: 1,
      sourceQueue: STANDARD_QUEUE_ARN,
      correlationId: "corr-1",
      schemaVersion: null,
      consumer: "test-consumer",
      lastFailureAt: NOW.toISOString(),
    });
    expect(metadata.errorDetails).toMatchObject({ bodyPreview: raw });
    expect(h.metricNames()).toEqual(["DeadLettered"]);
    expect(visibilityChanges()).toEqual([]);
  });

  it("dead-letters a body that fails the schema with SCHEMA_INVALID and the issues", async () => {
    const h = harness();
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: { schemaVersion: 1, id: "a", amount: "ten" } }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    const metadata = metadataOf(deadLetters()[0]);
    expect(metadata.reason).toBe("permanent-failure");
    expect(metadata.errorCode).toBe("SCHEMA_INVALID");
    expect(metadata.schemaVersion).toBe(1);
    const issues = (metadata.errorDetails as { issues: { path: string; message: string }[] })
      .issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("amount");
    expect(issues[0]?.message).toMatch(/number/i);
  });

  it("reports at most 5 schema issues", async () => {
    const h = harness();
    await invoke(
      h,
      record({
        messageId: "m-1",
        body: { schemaVersion: 1, id: "a", amount: 1, tags: [1, 2, 3, 4, 5, 6, 7, 8] },
      }),
    );
    const issues = (metadataOf(deadLetters()[0]).errorDetails as { issues: { path: string }[] })
      .issues;
    expect(issues.map((i) => i.path)).toEqual(["tags.0", "tags.1", "tags.2", "tags.3", "tags.4"]);
  });

  it("dead-letters a PermanentError from the business step with its code and details", async () => {
    const h = harness({
      process: async () => {
        throw new PermanentError("order closed", {
          code: "ORDER_CLOSED",
          details: { orderId: "a" },
        });
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 2 }));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    const metadata = metadataOf(deadLetters()[0]);
    expect(metadata).toMatchObject({
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode: "ORDER_CLOSED",
      errorMessage: "order closed",
      errorDetails: { orderId: "a" },
      attempts: 2,
    });
    expect(visibilityChanges()).toEqual([]);
  });

  it("keeps a replayed message's mark when it dead-letters it again, and counts ReplayDeadLetteredAgain", async () => {
    const h = harness({
      process: async () => {
        throw new PermanentError("still closed", { code: "ORDER_CLOSED" });
      },
    });
    const marker = { replayId: "r-1", deadLetterId: "dl-1", count: 1 };
    await invoke(
      h,
      record({
        messageId: "m-1",
        body: body("a"),
        messageAttributes: { [REPLAY_ATTRIBUTE]: stringAttribute(JSON.stringify(marker)) },
      }),
    );
    expect(parseReplayMarker(deadLetters()[0]?.MessageAttributes)).toEqual(marker);
    expect(h.metricNames()).toEqual(["DeadLettered", "ReplayDeadLetteredAgain"]);

    // A message never replayed: no such metric.
    const plain = harness({
      process: async () => {
        throw new PermanentError("closed", { code: "ORDER_CLOSED" });
      },
    });
    await invoke(plain, record({ messageId: "m-2", body: body("b") }));
    expect(plain.metricNames()).toEqual(["DeadLettered"]);
  });

  it("keeps the record, retrying it after the backoff, when the dead-letter send fails", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("SQS unavailable"));
    const h = harness();
    const response = await invoke(
      h,
      record({ messageId: "m-bad", body: "not json", attempt: 1 }),
      record({ messageId: "m-ok", body: body("ok") }),
    );
    expect(failedIds(response)).toEqual(["m-bad"]);
    expect(deadLetters()).toHaveLength(1);
    expect(h.metricNames()).not.toContain("DeadLettered");
    // Not visibility 0: a short SQS outage must not burn the record's remaining attempts.
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([
      fullJitterDelaySeconds(1, BACKOFF, HALF),
    ]);
  });

  it("leaves a permanent failure to the redrive policy when no DLQ URL is configured", async () => {
    const h = harness({ config: { deadLetterQueueUrl: undefined } });
    const response = await invoke(h, record({ messageId: "m-1", body: "not json", attempt: 2 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(deadLetters()).toEqual([]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([
      fullJitterDelaySeconds(2, BACKOFF, HALF),
    ]);
  });

  it("resends with trimmed metadata when SQS refuses the dead letter for its size", async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejectsOnce(
        Object.assign(new Error(`Message must be shorter than ${SQS_MAX_MESSAGE_BYTES} bytes.`), {
          name: "InvalidParameterValue",
        }),
      )
      .resolves({ MessageId: "dead-letter-id" });
    const h = harness({
      process: async () => {
        throw new PermanentError("x".repeat(900), {
          code: "BIG",
          details: { blob: "y".repeat(1500) },
        });
      },
    });
    const response = await invoke(h, record({ messageId: "m-big", body: body("big") }));
    expect(failedIds(response)).toEqual([]);
    const [first, second] = deadLetters();
    expect(metadataOf(first).errorDetails).toBeDefined();
    const trimmed = metadataOf(second);
    expect(trimmed.errorDetails).toBeUndefined();
    expect(trimmed.errorMessage.length).toBeLessThanOrEqual(200);
    expect(trimmed).toMatchObject({ errorCode: "BIG", messageId: "m-big" });
    expect(second?.MessageBody).toBe(first?.MessageBody);
  });

  it("dead-letters a message whose idempotency key is empty (IDEMPOTENCY_KEY_MISSING)", async () => {
    const h = harness({ idempotencyKey: () => "" });
    const response = await invoke(h, record({ messageId: "m-nokey", body: body("k") }));
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    expect(metadataOf(deadLetters()[0])).toMatchObject({
      reason: "permanent-failure",
      errorCode: "IDEMPOTENCY_KEY_MISSING",
      attempts: 1,
    });
  });
});

describe("transient failures", () => {
  it("reports the record failed and delays its retry by the full-jitter backoff", async () => {
    const h = harness({
      process: async () => {
        throw new Error("connection reset");
      },
    });
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: body("a"), attempt: 1 }),
      record({ messageId: "m-2", body: body("b"), attempt: 4 }),
    );
    expect(failedIds(response).sort()).toEqual(["m-1", "m-2"]);
    expect(deadLetters()).toEqual([]);
    const expected1 = fullJitterDelaySeconds(1, BACKOFF, HALF);
    const expected4 = fullJitterDelaySeconds(4, BACKOFF, HALF);
    expect([expected1, expected4]).toEqual([1, 8]);
    expect(visibilityChanges()).toEqual([
      { queueUrl: SOURCE_URL, receiptHandle: "receipt-m-1", visibilityTimeout: expected1 },
      { queueUrl: SOURCE_URL, receiptHandle: "receipt-m-2", visibilityTimeout: expected4 },
    ]);
    expect(h.metricNames()).toEqual(["Retried", "Retried"]);
  });

  it("retries a TransientError the same way", async () => {
    const h = harness({
      process: async () => {
        throw new TransientError("throttled", { code: "THROTTLED" });
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 2 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(visibilityChanges()).toEqual([
      {
        queueUrl: SOURCE_URL,
        receiptHandle: "receipt-m-1",
        visibilityTimeout: fullJitterDelaySeconds(2, BACKOFF, HALF),
      },
    ]);
  });

  it("waits at least as long as the step asks (retryAfterSeconds), e.g. for another run's lease", async () => {
    const h = harness({
      process: async () => {
        throw new TransientError("run in progress", {
          code: "RUN_IN_PROGRESS",
          details: { retryAfterSeconds: 120 },
        });
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 1 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([120]);
  });

  it("dead-letters on the last allowed attempt with reason retries-exhausted", async () => {
    const h = harness({
      process: async () => {
        throw new Error("still broken");
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 5 }));
    expect(failedIds(response)).toEqual([]);
    const sent = deadLetters();
    expect(sent).toHaveLength(1);
    expect(metadataOf(sent[0])).toMatchObject({
      reason: "retries-exhausted",
      errorClass: "Error",
      errorCode: "UNCLASSIFIED",
      errorMessage: "still broken",
      attempts: 5,
    });
    expect(visibilityChanges()).toEqual([]);
  });

  it("acknowledges instead of dead-lettering when the work of an out-of-attempts record is done", async () => {
    // First delivery completes; the invocation is then lost (a sibling timed out), so the record
    // keeps coming back and its last delivery fails before it reaches the idempotency check.
    const first = harness();
    await invoke(first, record({ messageId: "m-1", body: body("done"), attempt: 1 }));
    const again = harness({
      store: first.store ?? null,
      faults: new FaultInjector({ rates: NO_FAULTS }),
    });
    const response = await invoke(
      again,
      record({
        messageId: "m-1",
        body: body("done"),
        attempt: 5,
        messageAttributes: { [FAULT_ATTRIBUTE]: stringAttribute("transient:99") },
      }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(deadLetters()).toEqual([]);
    expect(again.metricNames()).toContain("DuplicatesSuppressed");
  });

  it("still dead-letters an out-of-attempts record whose work never completed", async () => {
    const h = harness({ faults: new FaultInjector({ rates: NO_FAULTS }) });
    const response = await invoke(
      h,
      record({
        messageId: "m-2",
        body: body("never"),
        attempt: 5,
        messageAttributes: { [FAULT_ATTRIBUTE]: stringAttribute("transient:99") },
      }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(metadataOf(deadLetters()[0]).reason).toBe("retries-exhausted");
  });

  it("retries forever (leaving the rest to the redrive policy) without maxReceiveCount", async () => {
    const h = harness({
      config: { maxReceiveCount: undefined },
      process: async () => {
        throw new Error("broken");
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 50 }));
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(deadLetters()).toEqual([]);
  });

  it("still answers when the visibility change fails (the queue's timeout applies)", async () => {
    sqsMock.on(ChangeMessageVisibilityBatchCommand).rejects(new Error("throttled"));
    const h = harness({
      process: async () => {
        throw new Error("broken");
      },
    });
    const response = await invoke(h, record({ messageId: "m-1", body: body("a") }));
    expect(failedIds(response)).toEqual(["m-1"]);
  });

  it("changes visibility in batches of at most 10 entries", async () => {
    const h = harness({
      process: async () => {
        throw new Error("broken");
      },
    });
    const records = Array.from({ length: 12 }, (_, i) =>
      record({ messageId: `m-${i}`, body: body(`id-${i}`) }),
    );
    const response = await invoke(h, ...records);
    expect(response.batchItemFailures).toHaveLength(12);
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    const ids = calls.flatMap((call) => (call.args[0].input.Entries ?? []).map((e) => e.Id));
    expect(new Set(ids).size).toBe(12);
  });

  it("lets a retried message run again (the failed attempt leaves no idempotency record)", async () => {
    let fail = true;
    const h = harness({
      process: async (message) => {
        if (fail) throw new Error("flaky");
        return { handled: message.id };
      },
    });
    const first = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 1 }));
    expect(failedIds(first)).toEqual(["m-1"]);
    expect(h.store?.table.size).toBe(0);
    fail = false;
    const second = await invoke(h, record({ messageId: "m-1", body: body("a"), attempt: 2 }));
    expect(failedIds(second)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(2);
    expect(h.metricNames()).toEqual(["Retried", "Processed"]);
  });
});

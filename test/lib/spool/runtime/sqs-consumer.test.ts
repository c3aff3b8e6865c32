import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import { fullJitterDelaySeconds } from "../../../../lib/spool/runtime/backoff.js";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import { FAULT_ATTRIBUTE, FaultInjector, NO_FAULTS } from "../../../../lib/spool/runtime/faults.js";
import type { RecordContext } from "../../../../lib/spool/runtime/sqs-consumer.js";
import {
  InMemoryPersistenceLayer,
  type StoredRecord,
} from "../../../helpers/in-memory-persistence.js";
import { lambdaContext, sqsRecord, stringAttribute } from "../../../helpers/sqs.js";
import {
  BACKOFF,
  body,
  deadLetters,
  FIFO_SOURCE_URL,
  failedIds,
  fifoRecord,
  HALF,
  type Harness,
  harness,
  invoke,
  type Message,
  metadataOf,
  record,
  SOURCE_URL,
  useConsumerHarness,
  visibilityChanges,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

describe("a successful record", () => {
  it("is processed once with the parsed message and its context, and not reported failed", async () => {
    const h = harness();
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: { ...body("a"), ignoredField: true },
        attempt: 2,
        messageAttributes: { "correlation-id": stringAttribute("corr-attr") },
      }),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(h.process).toHaveBeenCalledTimes(1);
    const [message, context] = h.process.mock.calls[0] as [Message, RecordContext];
    // The schema's parsed output, not the raw body (unknown fields stripped).
    expect(message).toEqual({ schemaVersion: 1, id: "a", amount: 100 });
    expect(context).toMatchObject({
      messageId: "m-1",
      correlationId: "corr-attr",
      attempt: 2,
      messageGroupId: undefined,
    });
    expect(context.logger).toBeInstanceOf(Logger);
    expect(h.metricNames()).toEqual(["Processed"]);
    expect(h.publish).toHaveBeenCalledTimes(1);
    expect(deadLetters()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });

  it("takes the correlation id from the body when the attribute is absent", async () => {
    const h = harness();
    await invoke(h, record({ messageId: "m-1", body: body("a", { correlationId: "corr-body" }) }));
    expect(h.process.mock.calls[0]?.[1].correlationId).toBe("corr-body");
  });

  it("prefers the correlation-id attribute over the body's", async () => {
    const h = harness();
    await invoke(
      h,
      record({
        messageId: "m-1",
        body: body("a", { correlationId: "corr-body" }),
        messageAttributes: { "correlation-id": stringAttribute("corr-attr") },
      }),
    );
    expect(h.process.mock.calls[0]?.[1].correlationId).toBe("corr-attr");
  });

  it("generates a correlation id when the message carries none", async () => {
    const h = harness();
    await invoke(
      h,
      record({ messageId: "m-1", body: body("a") }),
      record({ messageId: "m-2", body: body("b") }),
    );
    const ids = h.process.mock.calls.map((call) => call[1].correlationId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("passes the FIFO message group to the business step", async () => {
    const h = harness();
    await invoke(h, fifoRecord("m-1", "order-7"));
    expect(h.process.mock.calls[0]?.[1].messageGroupId).toBe("order-7");
  });

  it("processes every record of a standard batch", async () => {
    const h = harness();
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: body("a") }),
      record({ messageId: "m-2", body: body("b") }),
      record({ messageId: "m-3", body: body("c") }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process.mock.calls.map((call) => call[0].id).sort()).toEqual(["a", "b", "c"]);
  });

  it("answers an empty event with no failures", async () => {
    const h = harness();
    await expect(h.handler({ Records: [] }, lambdaContext())).resolves.toEqual({
      batchItemFailures: [],
    });
  });
});

describe("idempotency", () => {
  it("runs the step once for three records with one key in a batch, then suppresses a later one", async () => {
    const h = harness();
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: body("same") }),
      record({ messageId: "m-2", body: body("same") }),
      record({ messageId: "m-3", body: body("same") }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    const names = h.metricNames();
    expect(names.filter((n) => n === "Processed")).toHaveLength(1);
    expect(names.filter((n) => n === "DuplicatesSuppressed")).toHaveLength(2);
    expect(deadLetters()).toEqual([]);

    const again = await invoke(h, record({ messageId: "m-4", body: body("same") }));
    expect(failedIds(again)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.metricNames().filter((n) => n === "DuplicatesSuppressed")).toHaveLength(3);
  });

  it("stores one completed record with the result, keyed by the consumer name", async () => {
    const h = harness();
    await invoke(h, record({ messageId: "m-1", body: body("a") }));
    const stored = [...(h.store?.table.entries() ?? [])];
    expect(stored).toHaveLength(1);
    const [key, value] = stored[0] as [string, StoredRecord];
    expect(key.startsWith("test-consumer#")).toBe(true);
    expect(value.status).toBe("COMPLETED");
    expect(value.responseData).toEqual({ value: { handled: "a" } });
    // Expires after the configured TTL (3600 s), give or take the test's run time.
    const ttl = (value.expiryTimestamp ?? 0) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(3_590);
    expect(ttl).toBeLessThanOrEqual(3_601);
  });

  it("completes the record of a step that returns nothing, and suppresses its duplicate", async () => {
    // Most effects return nothing. Stored as { value: undefined }, the result could not be
    // marshalled, the record stayed IN_PROGRESS, and after its lease the step ran again.
    const h = harness({ process: async () => undefined as unknown as { handled: string } });
    const first = await invoke(h, record({ messageId: "m-1", body: body("void") }));
    expect(failedIds(first)).toEqual([]);
    const [, stored] = [...(h.store?.table.entries() ?? [])][0] as [string, StoredRecord];
    expect(stored.status).toBe("COMPLETED");
    const again = await invoke(h, record({ messageId: "m-2", body: body("void") }));
    expect(failedIds(again)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.metricNames().filter((n) => n === "DuplicatesSuppressed")).toHaveLength(1);
  });

  it("completes the record of a result with an undefined field", async () => {
    const h = harness({
      process: async (m) => ({ handled: m.id, note: undefined }) as { handled: string },
    });
    expect(failedIds(await invoke(h, record({ messageId: "m-1", body: body("u") })))).toEqual([]);
    const [, stored] = [...(h.store?.table.entries() ?? [])][0] as [string, StoredRecord];
    expect(stored.status).toBe("COMPLETED");
    expect(stored.responseData).toEqual({ value: { handled: "u" } });
  });

  it("suppresses a duplicate in another container (answered from the table, not a cache)", async () => {
    const first = harness();
    await invoke(first, record({ messageId: "m-1", body: body("a") }));
    const otherContainer = harness({
      store: new InMemoryPersistenceLayer(first.store?.table),
    });
    const response = await invoke(otherContainer, record({ messageId: "m-2", body: body("a") }));
    expect(failedIds(response)).toEqual([]);
    expect(otherContainer.process).not.toHaveBeenCalled();
    expect(otherContainer.metricNames()).toEqual(["DuplicatesSuppressed"]);
    expect(otherContainer.store?.calls).toContain("put");
  });

  it("treats a re-send with only a different correlation id as a duplicate", async () => {
    const h = harness();
    await invoke(h, record({ messageId: "m-1", body: body("a", { correlationId: "c-1" }) }));
    const response = await invoke(
      h,
      record({ messageId: "m-2", body: body("a", { correlationId: "c-2" }) }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(deadLetters()).toEqual([]);
  });

  it("dead-letters a reused key with a different payload (IDEMPOTENCY_KEY_REUSED), same batch", async () => {
    const h = harness();
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: body("a", { amount: 100 }) }),
      record({ messageId: "m-2", body: body("a", { amount: 999 }) }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    const sent = deadLetters();
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]?.MessageBody ?? "")).toMatchObject({ amount: 999 });
    expect(metadataOf(sent[0])).toMatchObject({
      reason: "permanent-failure",
      errorCode: "IDEMPOTENCY_KEY_REUSED",
      errorClass: "IdempotencyValidationError",
      messageId: "m-2",
    });
  });

  it("dead-letters a reused key with a different payload found in the table", async () => {
    const first = harness();
    await invoke(first, record({ messageId: "m-1", body: body("a", { amount: 100 }) }));
    const other = harness({ store: new InMemoryPersistenceLayer(first.store?.table) });
    const response = await invoke(
      other,
      record({ messageId: "m-2", body: body("a", { amount: 5 }) }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(other.process).not.toHaveBeenCalled();
    expect(metadataOf(deadLetters()[0]).errorCode).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("retries a duplicate still in progress no sooner than the other attempt's lease ends", async () => {
    const first = harness();
    await invoke(first, record({ messageId: "m-1", body: body("a") }));
    const table = first.store?.table as Map<string, StoredRecord>;
    const [key, stored] = [...table.entries()][0] as [string, StoredRecord];
    table.set(key, {
      ...stored,
      status: "INPROGRESS",
      responseData: undefined,
      inProgressExpiryTimestamp: Date.now() + 60_000,
    });
    const other = harness({ store: new InMemoryPersistenceLayer(table) });
    const response = await invoke(other, record({ messageId: "m-2", body: body("a"), attempt: 1 }));
    expect(failedIds(response)).toEqual(["m-2"]);
    expect(other.process).not.toHaveBeenCalled();
    expect(deadLetters()).toEqual([]);
    expect(visibilityChanges()).toEqual([
      {
        queueUrl: SOURCE_URL,
        receiptHandle: "receipt-m-2",
        // The lease is the invocation's remaining time (the fake context: 30 s), longer than
        // the first attempt's jittered backoff.
        visibilityTimeout: Math.max(fullJitterDelaySeconds(1, BACKOFF, HALF), 30),
      },
    ]);
  });

  it("processes every delivery when no persistence store is configured", async () => {
    const h = harness({ store: null });
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: body("same") }),
      record({ messageId: "m-2", body: body("same") }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(2);
    expect(h.metricNames()).toEqual(["Processed", "Processed"]);
  });
});

describe("FIFO queues", () => {
  it("fails the failed record and the rest of its group only; other groups go on", async () => {
    const h = harness({
      process: async (message) => {
        if (message.id === "A2") throw new Error("A2 failed");
        return { handled: message.id };
      },
    });
    const response = await invoke(
      h,
      fifoRecord("A1", "A"),
      fifoRecord("A2", "A"),
      fifoRecord("B1", "B"),
      fifoRecord("A3", "A"),
      fifoRecord("B2", "B"),
    );
    expect(failedIds(response)).toEqual(["A2", "A3"]);
    // In order, one at a time; A3 never ran.
    expect(h.process.mock.calls.map((call) => call[0].id)).toEqual(["A1", "A2", "B1", "B2"]);
    expect(visibilityChanges()).toEqual([
      {
        queueUrl: FIFO_SOURCE_URL,
        receiptHandle: "receipt-A2",
        visibilityTimeout: fullJitterDelaySeconds(1, BACKOFF, HALF),
      },
      { queueUrl: FIFO_SOURCE_URL, receiptHandle: "receipt-A3", visibilityTimeout: 0 },
    ]);
    expect(fullJitterDelaySeconds(1, BACKOFF, HALF)).toBeGreaterThan(0);
  });

  it("dead-letters, with metadata, a record skipped behind a failed predecessor on its last delivery", async () => {
    const h = harness({
      process: async (message) => {
        if (message.id === "A1") throw new Error("A1 failed");
        return { handled: message.id };
      },
    });
    const skipped = (messageId: string, attempt: number) =>
      sqsRecord({ messageId, body: body(messageId), fifo: true, groupId: "A", attempt });
    // A1 has attempts left; A2 is on its 5th (last) delivery, A3 on its 4th.
    const response = await invoke(h, skipped("A1", 3), skipped("A2", 5), skipped("A3", 4));
    expect(failedIds(response)).toEqual(["A1", "A3"]);
    const [letter] = deadLetters();
    expect(letter?.MessageBody).toBe(JSON.stringify(body("A2")));
    expect(metadataOf(letter)).toMatchObject({
      reason: "retries-exhausted",
      errorCode: "BLOCKED_BY_GROUP",
      attempts: 5,
      messageGroupId: "A",
    });
  });

  it("does not block a group behind a dead-lettered record", async () => {
    const h = harness({
      process: async (message) => {
        if (message.id === "A1") throw new PermanentError("bad", { code: "BAD" });
        return { handled: message.id };
      },
    });
    const response = await invoke(h, fifoRecord("A1", "A"), fifoRecord("A2", "A"));
    expect(failedIds(response)).toEqual([]);
    expect(h.process.mock.calls.map((call) => call[0].id)).toEqual(["A1", "A2"]);
    const sent = deadLetters();
    expect(sent).toHaveLength(1);
    expect(metadataOf(sent[0]).messageGroupId).toBe("A");
  });

  it("fails every later record when the records carry no MessageGroupId", async () => {
    const h = harness({
      process: async (message) => {
        if (message.id === "r2") throw new Error("r2 failed");
        return { handled: message.id };
      },
    });
    const response = await invoke(
      h,
      fifoRecord("r1", null),
      fifoRecord("r2", null),
      fifoRecord("r3", null),
      fifoRecord("r4", null),
    );
    expect(failedIds(response)).toEqual(["r2", "r3", "r4"]);
    expect(h.process.mock.calls.map((call) => call[0].id)).toEqual(["r1", "r2"]);
    const changes = visibilityChanges();
    expect(changes.map((c) => [c.receiptHandle, c.visibilityTimeout])).toEqual([
      ["receipt-r2", fullJitterDelaySeconds(1, BACKOFF, HALF)],
      ["receipt-r3", 0],
      ["receipt-r4", 0],
    ]);
  });

  it("stops the whole batch if even one record lacks its MessageGroupId", async () => {
    const h = harness({
      process: async (message) => {
        if (message.id === "A1") throw new Error("A1 failed");
        return { handled: message.id };
      },
    });
    const response = await invoke(h, fifoRecord("A1", "A"), fifoRecord("B1", null));
    expect(failedIds(response)).toEqual(["A1", "B1"]);
  });
});

describe("fault injection", () => {
  const faulty = (directive: string, attempt: number, h: Harness) =>
    invoke(
      h,
      record({
        messageId: `m-${attempt}`,
        body: body("a"),
        attempt,
        messageAttributes: { [FAULT_ATTRIBUTE]: stringAttribute(directive) },
      }),
    );

  it("'transient:2' fails attempts 1 and 2 with backoff, then attempt 3 succeeds", async () => {
    const h = harness({ faults: new FaultInjector({ rates: NO_FAULTS }) });
    expect(failedIds(await faulty("transient:2", 1, h))).toEqual(["m-1"]);
    expect(failedIds(await faulty("transient:2", 2, h))).toEqual(["m-2"]);
    expect(h.process).not.toHaveBeenCalled();
    expect(failedIds(await faulty("transient:2", 3, h))).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(visibilityChanges().map((c) => c.visibilityTimeout)).toEqual([
      fullJitterDelaySeconds(1, BACKOFF, HALF),
      fullJitterDelaySeconds(2, BACKOFF, HALF),
    ]);
    expect(deadLetters()).toEqual([]);
  });

  it("'permanent' dead-letters the record with INJECTED_PERMANENT", async () => {
    const h = harness({ faults: new FaultInjector({ rates: NO_FAULTS }) });
    const response = await faulty("permanent", 1, h);
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    expect(metadataOf(deadLetters()[0])).toMatchObject({
      reason: "permanent-failure",
      errorCode: "INJECTED_PERMANENT",
    });
  });

  it("ignores the directive when no injector is configured", async () => {
    const h = harness();
    expect(failedIds(await faulty("permanent", 1, h))).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(deadLetters()).toEqual([]);
  });
});

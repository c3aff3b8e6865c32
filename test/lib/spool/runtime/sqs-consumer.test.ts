import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import {
  type BackoffPolicy,
  fullJitterDelaySeconds,
} from "../../../../lib/spool/runtime/backoff.js";
import {
  DEAD_LETTER_ATTRIBUTE,
  type DeadLetterMetadata,
  parseDeadLetterMetadata,
} from "../../../../lib/spool/runtime/dead-letter.js";
import { PermanentError, TransientError } from "../../../../lib/spool/runtime/errors.js";
import { FAULT_ATTRIBUTE, FaultInjector, NO_FAULTS } from "../../../../lib/spool/runtime/faults.js";
import {
  type ConsumerConfig,
  type ConsumerDefinition,
  consumerConfigFromEnv,
  createSqsConsumer,
  queueUrlFromArn,
  type RecordContext,
  recordDeadlineMs,
} from "../../../../lib/spool/runtime/sqs-consumer.js";
import {
  InMemoryPersistenceLayer,
  type StoredRecord,
} from "../../../helpers/in-memory-persistence.js";
import {
  FIFO_QUEUE_ARN,
  lambdaContext,
  type RecordOptions,
  STANDARD_QUEUE_ARN,
  sqsEvent,
  sqsRecord,
  stringAttribute,
} from "../../../helpers/sqs.js";

const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq";
const SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
const FIFO_SOURCE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo";
const NOW = new Date("2024-05-01T10:05:00.000Z");
const BACKOFF: BackoffPolicy = { baseSeconds: 2, capSeconds: 300 };
const HALF = () => 0.5;

const Message = z.object({
  schemaVersion: z.literal(1),
  id: z.string().min(1),
  amount: z.number().int(),
  correlationId: z.string().optional(),
  tags: z.array(z.string()).optional(),
});
type Message = z.infer<typeof Message>;

const sqsMock = mockClient(SQSClient);

interface Harness {
  readonly handler: ReturnType<typeof createSqsConsumer<Message, { handled: string }>>;
  readonly process: ReturnType<
    typeof vi.fn<ConsumerDefinition<Message, { handled: string }>["process"]>
  >;
  readonly store: InMemoryPersistenceLayer | undefined;
  readonly metricNames: () => string[];
  readonly publish: ReturnType<typeof vi.fn>;
}

interface HarnessOptions {
  readonly config?: Partial<ConsumerConfig>;
  readonly process?: ConsumerDefinition<Message, { handled: string }>["process"];
  /** `null`: no idempotency; a store: share its table (another container). */
  readonly store?: InMemoryPersistenceLayer | null;
  readonly faults?: FaultInjector;
  readonly idempotencyKey?: (message: Message) => string;
}

function harness(options: HarnessOptions = {}): Harness {
  const process = vi.fn<ConsumerDefinition<Message, { handled: string }>["process"]>(
    options.process ?? (async (message) => ({ handled: message.id })),
  );
  const store =
    options.store === null ? undefined : (options.store ?? new InMemoryPersistenceLayer());
  const metrics = new Metrics({ namespace: "Test", serviceName: "test" });
  const addMetric = vi.spyOn(metrics, "addMetric");
  const publish = vi.fn();
  vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(publish);
  const config: ConsumerConfig = {
    consumerName: "test-consumer",
    deadLetterQueueUrl: DLQ_URL,
    maxReceiveCount: 5,
    backoff: BACKOFF,
    idempotencyTable: store ? "idempotency" : undefined,
    idempotencyTtlSeconds: 3_600,
    ...options.config,
  };
  const handler = createSqsConsumer<Message, { handled: string }>(
    { schema: Message, idempotencyKey: options.idempotencyKey ?? ((m) => m.id), process },
    config,
    {
      sqs: new SQSClient({ region: "us-east-1" }),
      dynamo: new DynamoDBClient({ region: "us-east-1" }),
      persistenceStore: store,
      logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
      metrics,
      faults: options.faults,
      random: HALF,
      now: () => NOW,
    },
  );
  return {
    handler,
    process,
    store,
    metricNames: () => addMetric.mock.calls.map((call) => call[0]),
    publish,
  };
}

const body = (id: string, extra: Partial<Message> = {}) => ({
  schemaVersion: 1,
  id,
  amount: 100,
  ...extra,
});

const record = (options: RecordOptions) => sqsRecord(options);
const fifoRecord = (messageId: string, groupId: string | null, id = messageId) =>
  sqsRecord({ messageId, body: body(id), fifo: true, groupId });

async function invoke(h: Harness, ...records: SQSRecord[]) {
  return h.handler(sqsEvent(...records), lambdaContext());
}

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((f) => f.itemIdentifier);

function deadLetters(): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

function metadataOf(sent: SendMessageCommandInput | undefined): DeadLetterMetadata {
  const metadata = parseDeadLetterMetadata(sent?.MessageAttributes);
  if (!metadata) throw new Error("no dead-letter metadata on the sent message");
  return metadata;
}

/** Every visibility change, flattened: queue URL, receipt handle, timeout. */
function visibilityChanges() {
  return sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      queueUrl: call.args[0].input.QueueUrl,
      receiptHandle: entry.ReceiptHandle,
      visibilityTimeout: entry.VisibilityTimeout,
    })),
  );
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "dead-letter-id" });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  // Queue URLs are derived from the ARN and the endpoint variables; pin them to AWS's.
  vi.stubEnv("AWS_ENDPOINT_URL_SQS", undefined);
  vi.stubEnv("AWS_ENDPOINT_URL", undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

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
        Object.assign(new Error("Message must be shorter than 1048576 bytes."), {
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

describe("the invocation deadline", () => {
  it("gives up a record still running near the timeout, so its batch-mates are acknowledged", async () => {
    const h = harness({
      process: (message) =>
        message.id === "stuck"
          ? new Promise(() => undefined)
          : Promise.resolve({ handled: message.id }),
    });
    const started = Date.now();
    const response = await h.handler(
      sqsEvent(
        record({ messageId: "m-stuck", body: body("stuck") }),
        record({ messageId: "m-ok", body: body("ok") }),
      ),
      lambdaContext(1_000),
    );
    // Answered before the 1 s timeout, with only the stuck record to retry.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(failedIds(response)).toEqual(["m-stuck"]);
    expect(visibilityChanges().map((c) => c.receiptHandle)).toEqual(["receipt-m-stuck"]);
  });

  it("does not start a FIFO record once the deadline has passed", async () => {
    const h = harness({
      process: (message) =>
        message.id === "A1"
          ? new Promise(() => undefined)
          : Promise.resolve({ handled: message.id }),
    });
    const response = await h.handler(
      sqsEvent(fifoRecord("A1", "A"), fifoRecord("B1", "B")),
      lambdaContext(1_000),
    );
    expect(failedIds(response)).toEqual(["A1", "B1"]);
    // B1 waited behind A1 until the deadline, and was then not started at all.
    expect(h.process.mock.calls.map((call) => call[0].id)).toEqual(["A1"]);
  });

  it("keeps a margin of a tenth of the remaining time, between 200 ms and 2 s", () => {
    expect(recordDeadlineMs(1_000)).toBe(800);
    expect(recordDeadlineMs(10_000)).toBe(9_000);
    expect(recordDeadlineMs(60_000)).toBe(58_000);
    expect(recordDeadlineMs(100)).toBe(0);
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

describe("queueUrlFromArn", () => {
  it("builds the regional AWS URL", () => {
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe(SOURCE_URL);
    expect(queueUrlFromArn(FIFO_QUEUE_ARN)).toBe(FIFO_SOURCE_URL);
  });

  it("uses the .com.cn suffix in the aws-cn partition", () => {
    expect(queueUrlFromArn("arn:aws-cn:sqs:cn-north-1:123456789012:jobs")).toBe(
      "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs",
    );
  });

  it("uses the configured endpoint (SQS-specific first) when there is one", () => {
    vi.stubEnv("AWS_ENDPOINT_URL", "http://localhost:4566/");
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe("http://localhost:4566/000000000000/q");
    vi.stubEnv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324");
    expect(queueUrlFromArn(STANDARD_QUEUE_ARN)).toBe("http://127.0.0.1:9324/000000000000/q");
  });
});

describe("consumerConfigFromEnv", () => {
  it("reads what the QueueConsumer construct writes", () => {
    expect(
      consumerConfigFromEnv({
        SPOOL_CONSUMER_NAME: "orders",
        SPOOL_DEAD_LETTER_QUEUE_URL: DLQ_URL,
        SPOOL_MAX_RECEIVE_COUNT: "5",
        SPOOL_BACKOFF_BASE_SECONDS: "1",
        SPOOL_BACKOFF_CAP_SECONDS: "8",
        SPOOL_IDEMPOTENCY_TABLE: "idem",
        SPOOL_IDEMPOTENCY_TTL_SECONDS: "600",
      }),
    ).toEqual({
      consumerName: "orders",
      deadLetterQueueUrl: DLQ_URL,
      maxReceiveCount: 5,
      backoff: { baseSeconds: 1, capSeconds: 8 },
      idempotencyTable: "idem",
      idempotencyTtlSeconds: 600,
    });
  });

  it("falls back to the function name and Spool's defaults", () => {
    expect(consumerConfigFromEnv({ AWS_LAMBDA_FUNCTION_NAME: "fn" })).toEqual({
      consumerName: "fn",
      deadLetterQueueUrl: undefined,
      maxReceiveCount: undefined,
      backoff: { baseSeconds: 2, capSeconds: 300 },
      idempotencyTable: undefined,
      idempotencyTtlSeconds: 86_400,
    });
    expect(consumerConfigFromEnv({}).consumerName).toBe("spool-consumer");
  });

  it("rejects a bad receive count or backoff, naming the variable and value", () => {
    expect(() => consumerConfigFromEnv({ SPOOL_MAX_RECEIVE_COUNT: "0" })).toThrow(
      "SPOOL_MAX_RECEIVE_COUNT must be a positive integer, got 0",
    );
    expect(() => consumerConfigFromEnv({ SPOOL_IDEMPOTENCY_TTL_SECONDS: "1.5" })).toThrow(
      "SPOOL_IDEMPOTENCY_TTL_SECONDS must be a positive integer, got 1.5",
    );
    expect(() =>
      consumerConfigFromEnv({ SPOOL_BACKOFF_BASE_SECONDS: "10", SPOOL_BACKOFF_CAP_SECONDS: "5" }),
    ).toThrow("backoff capSeconds must be >= baseSeconds (10), got 5");
  });
});

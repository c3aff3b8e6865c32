import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { parseDeadLetterMetadata } from "../../../../../lib/spool/runtime/dead-letter.js";
import { createEvent } from "../../../../../lib/spool/runtime/envelope.js";
import { TransientError } from "../../../../../lib/spool/runtime/errors.js";
import { EVENTBRIDGE_PUT_EVENTS_BYTES } from "../../../../../lib/spool/runtime/limits.js";
import { outboxRow } from "../../../../../lib/spool/transactional-outbox/runtime/outbox.js";
import {
  entrySize,
  type PublisherConfig,
  type PublisherDeps,
  publishOutbox,
} from "../../../../../lib/spool/transactional-outbox/runtime/publish.js";

const events = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/outbox/stream/2026";
const NOW = new Date("2026-05-06T07:08:09.000Z");

const config: PublisherConfig = {
  eventBusName: "orders",
  outboxTable: "outbox",
  deadLetterQueueUrl: "https://sqs.local/000000000000/outbox-dlq",
  publishedTtlSeconds: 600,
  maxAttempts: 3,
  retryBaseMs: 100,
  retryCapMs: 2_000,
  failureMode: "report",
  publisherName: "outbox-publisher",
  payloadBucket: undefined,
  offloadThresholdBytes: 245_760,
};

const sleeps: number[] = [];
const deps: PublisherDeps = {
  events: new EventBridgeClient({ region: "us-east-1" }),
  dynamo: new DynamoDBClient({ region: "us-east-1" }),
  sqs: new SQSClient({ region: "us-east-1" }),
  logger: { info: () => {}, warn: () => {}, error: () => {} },
  now: () => NOW,
  random: () => 0.5,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
};

function streamRecord(index: number, image: Record<string, unknown>, eventName = "INSERT") {
  return {
    eventID: `stream-${index}`,
    eventName,
    eventSourceARN: STREAM,
    dynamodb: {
      SequenceNumber: String(1000 + index),
      NewImage: marshall(image, { removeUndefinedValues: true }),
    },
  } as unknown as DynamoDBRecord;
}

function outboxRecord(index: number, data: unknown = { n: index }) {
  const event = createEvent({
    id: `evt-${index}`,
    type: "OrderPlaced",
    schemaVersion: "1.0",
    source: "spool.checkout",
    correlationId: `corr-${index}`,
    data,
  });
  return streamRecord(index, { ...outboxRow(event, `order-${index}`) });
}

const idOf = (entry: PutEventsRequestEntry) =>
  (JSON.parse(entry.Detail ?? "{}") as { id: string }).id;

/** A PutEvents fake: `fail(id, attempt)` returns an error code for an entry, or nothing. */
function putEventsFake(
  fail: (id: string, attempt: number) => string | undefined = () => undefined,
) {
  const attempts = new Map<string, number>();
  const calls: string[][] = [];
  events.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    calls.push(input.Entries.map(idOf));
    const entries: PutEventsResultEntry[] = input.Entries.map((entry) => {
      const id = idOf(entry);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const code = fail(id, attempt);
      return code
        ? { ErrorCode: code, ErrorMessage: `${code} for ${id}` }
        : { EventId: `eb-${id}` };
    });
    return {
      FailedEntryCount: entries.filter((e) => e.ErrorCode).length,
      Entries: entries,
    };
  });
  return calls;
}

function markedRows() {
  return dynamo.commandCalls(UpdateItemCommand).map((c) => {
    const input = c.args[0].input;
    return {
      id: unmarshall(input.Key ?? {}).id as string,
      values: unmarshall(input.ExpressionAttributeValues ?? {}),
      names: input.ExpressionAttributeNames ?? {},
      condition: input.ConditionExpression,
    };
  });
}

function deadLetters() {
  return sqs.commandCalls(SendMessageCommand).map((c) => ({
    body: c.args[0].input.MessageBody,
    metadata: parseDeadLetterMetadata(c.args[0].input.MessageAttributes),
  }));
}

beforeEach(() => {
  events.reset();
  dynamo.reset();
  sqs.reset();
  sleeps.length = 0;
  dynamo.on(UpdateItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: "dlq-1" });
});

describe("outbox publisher", () => {
  it("publishes in calls of at most ten entries and marks every row PUBLISHED with a TTL", async () => {
    const calls = putEventsFake();
    const records = Array.from({ length: 12 }, (_, i) => outboxRecord(i));
    const response = await publishOutbox(records, config, deps);

    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map((c) => c.length)).toEqual([10, 2]);
    const first = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(first).toMatchObject({
      EventBusName: "orders",
      Source: "spool.checkout",
      DetailType: "OrderPlaced",
    });
    // The stored JSON is sent as it is: a re-publish is byte-identical.
    expect(first?.Detail).toBe(unmarshall(records[0]?.dynamodb?.NewImage as never).event);

    const marks = markedRows();
    expect(marks.map((m) => m.id).sort()).toEqual(records.map((_, i) => `evt-${i}`).sort());
    const mark = marks.find((m) => m.id === "evt-0");
    expect(mark?.condition).toBe("attribute_exists(#id)");
    expect(Object.values(mark?.values ?? {})).toEqual(
      expect.arrayContaining(["PUBLISHED", "eb-evt-0", Math.floor(NOW.getTime() / 1000) + 600]),
    );
    expect(Object.values(mark?.names ?? {})).toContain("expiresAt");
  });

  it("retries only the entries PutEvents did not accept", async () => {
    const calls = putEventsFake((id, attempt) =>
      attempt === 1 && id === "evt-1"
        ? "ThrottlingException"
        : attempt === 1 && id === "evt-3"
          ? "InternalFailure"
          : undefined,
    );
    const records = Array.from({ length: 5 }, (_, i) => outboxRecord(i));
    const response = await publishOutbox(records, config, deps);

    expect(calls).toEqual([
      ["evt-0", "evt-1", "evt-2", "evt-3", "evt-4"],
      ["evt-1", "evt-3"],
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(response.report.published.sort()).toEqual(records.map((_, i) => `evt-${i}`).sort());
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThanOrEqual(config.retryBaseMs);
  });

  it("reports the earliest record still unpublished after its attempts, and marks only the rest", async () => {
    const calls = putEventsFake((id) =>
      id === "evt-2" || id === "evt-4" ? "InternalFailure" : undefined,
    );
    const records = Array.from({ length: 5 }, (_, i) => outboxRecord(i));
    const response = await publishOutbox(records, config, deps);

    expect(calls).toEqual([
      ["evt-0", "evt-1", "evt-2", "evt-3", "evt-4"],
      ["evt-2", "evt-4"],
      ["evt-2", "evt-4"],
    ]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "1002" }]);
    expect(
      markedRows()
        .map((m) => m.id)
        .sort(),
    ).toEqual(["evt-0", "evt-1", "evt-3"]);
    expect(deadLetters()).toEqual([]);
    // Backoff grows between attempts (full jitter of a doubling ceiling).
    expect(sleeps).toEqual([50, 100]);
  });

  it("fails the whole batch instead when partial batch responses are not honoured", async () => {
    putEventsFake((id) => (id === "evt-1" ? "InternalFailure" : undefined));
    const records = [outboxRecord(0), outboxRecord(1)];
    await expect(
      publishOutbox(records, { ...config, failureMode: "throw" }, deps),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it("retries a chunk whose PutEvents call failed as a whole", async () => {
    let call = 0;
    events.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      call++;
      if (call === 1)
        throw Object.assign(new Error("rate exceeded"), { name: "ThrottlingException" });
      return {
        FailedEntryCount: 0,
        Entries: input.Entries.map((e) => ({ EventId: `eb-${idOf(e)}` })),
      };
    });
    const response = await publishOutbox([outboxRecord(0), outboxRecord(1)], config, deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(call).toBe(2);
    expect(markedRows()).toHaveLength(2);
  });

  it("dead-letters an entry EventBridge refuses for good, without retrying it or blocking the batch", async () => {
    const calls = putEventsFake((id) => (id === "evt-1" ? "MalformedDetail" : undefined));
    const records = [outboxRecord(0), outboxRecord(1), outboxRecord(2)];
    const response = await publishOutbox(records, config, deps);

    expect(calls).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([]);
    const [letter] = deadLetters();
    expect(letter?.body).toBe(unmarshall(records[1]?.dynamodb?.NewImage as never).event);
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorClass: "PutEventsEntryError",
      errorCode: "MalformedDetail",
      messageId: "evt-1",
      correlationId: "corr-1",
      schemaVersion: "1.0",
      sourceQueue: STREAM,
      consumer: "outbox-publisher",
    });
    const failed = markedRows().find((m) => m.id === "evt-1");
    expect(Object.values(failed?.values ?? {})).toContain("FAILED");
    expect(Object.values(failed?.values ?? {})).toContain(
      "MalformedDetail: MalformedDetail for evt-1",
    );
  });

  it("publishes events up to EventBridge's 1 MB, in calls whose entries together stay under it", async () => {
    const calls = putEventsFake();
    // 400 KB each: over the old 256 KB limit, and two fit in one call but three do not.
    const blob = "x".repeat(400_000);
    const records = [0, 1, 2].map((i) => outboxRecord(i, { blob }));
    const response = await publishOutbox(records, config, deps);

    expect(calls).toEqual([["evt-0", "evt-1"], ["evt-2"]]);
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters()).toEqual([]);
  });

  it("dead-letters an event larger than EventBridge accepts without sending it", async () => {
    const calls = putEventsFake();
    const big = outboxRecord(0, { blob: "x".repeat(EVENTBRIDGE_PUT_EVENTS_BYTES) });
    const response = await publishOutbox([big, outboxRecord(1)], config, deps);

    expect(calls).toEqual([["evt-1"]]);
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters()[0]?.metadata).toMatchObject({
      errorCode: "ENTRY_TOO_LARGE",
      messageId: "evt-0",
    });
  });

  it("dead-letters an unreadable outbox row with its raw image", async () => {
    putEventsFake();
    const broken = streamRecord(0, { id: "evt-0", event: "{not json", status: "PENDING" });
    const wrongId = streamRecord(1, {
      ...outboxRow(
        createEvent({ id: "evt-x", type: "T", schemaVersion: "1.0", source: "s", data: {} }),
      ),
      id: "evt-1",
    });
    const response = await publishOutbox([broken, wrongId, outboxRecord(2)], config, deps);

    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters().map((d) => d.metadata?.errorCode)).toEqual([
      "OUTBOX_ROW_UNREADABLE",
      "OUTBOX_EVENT_INVALID",
    ]);
    expect(JSON.parse(deadLetters()[0]?.body ?? "null")).toMatchObject({ id: { S: "evt-0" } });
    expect(response.report.published).toEqual(["evt-2"]);
  });

  it("keeps an event the dead-letter queue refused in the stream", async () => {
    putEventsFake((id) => (id === "evt-0" ? "InvalidArgument" : undefined));
    sqs.on(SendMessageCommand).rejects(new Error("queue unavailable"));
    const response = await publishOutbox([outboxRecord(0), outboxRecord(1)], config, deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "1000" }]);
  });

  it("ignores MODIFY and REMOVE records (its own status updates, TTL expiries)", async () => {
    const calls = putEventsFake();
    const image = unmarshall(outboxRecord(0).dynamodb?.NewImage as never);
    const response = await publishOutbox(
      [streamRecord(0, image, "MODIFY"), streamRecord(1, image, "REMOVE")],
      config,
      deps,
    );
    expect(calls).toEqual([]);
    expect(response.batchItemFailures).toEqual([]);
  });

  it("does not fail the batch when only the PUBLISHED mark could not be written", async () => {
    putEventsFake();
    dynamo.on(UpdateItemCommand).rejects(new Error("throttled"));
    const response = await publishOutbox([outboxRecord(0)], config, deps);
    expect(response.batchItemFailures).toEqual([]);
  });

  it("sizes entries the way EventBridge counts them", () => {
    expect(
      entrySize({
        Source: "ab",
        DetailType: "cd",
        Detail: "é",
        Time: new Date(),
        Resources: ["r"],
      }),
    ).toBe(14 + 2 + 2 + 2 + 1);
  });
});

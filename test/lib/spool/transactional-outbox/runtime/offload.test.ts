import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../../../../lib/spool/runtime/env.js";
import { createEvent, type SpoolEvent } from "../../../../../lib/spool/runtime/envelope.js";
import { EVENTBRIDGE_PUT_EVENTS_BYTES } from "../../../../../lib/spool/runtime/limits.js";
import {
  EVENT_POINTER_FIELD,
  POINTER_CLASS,
  payloadKey,
  resolveBody,
} from "../../../../../lib/spool/runtime/payload-pointer.js";
import {
  DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
  OUTBOX_ROW_EVENT_MAX_BYTES,
  PUBLISHER_ENV,
} from "../../../../../lib/spool/transactional-outbox/contract.js";
import { entrySize } from "../../../../../lib/spool/transactional-outbox/runtime/offload.js";
import {
  outboxPutLarge,
  outboxRow,
} from "../../../../../lib/spool/transactional-outbox/runtime/outbox.js";
import {
  type PublisherConfig,
  type PublisherDeps,
  publisherConfigFromEnv,
  publishOutbox,
} from "../../../../../lib/spool/transactional-outbox/runtime/publish.js";
import { FakePayloadObjects } from "../../../../helpers/fake-payload-objects.js";

const events = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const BUCKET = "payloads";
const THRESHOLD = 2_000;

const config: PublisherConfig = {
  eventBusName: "orders",
  outboxTable: "outbox",
  deadLetterQueueUrl: "https://sqs.local/000000000000/outbox-dlq",
  publishedTtlSeconds: 600,
  maxAttempts: 1,
  retryBaseMs: 100,
  retryCapMs: 2_000,
  failureMode: "report",
  publisherName: "outbox-publisher",
  payloadBucket: BUCKET,
  offloadThresholdBytes: THRESHOLD,
};

let objects: FakePayloadObjects;
const depsWith = (payloadObjects: FakePayloadObjects | undefined): PublisherDeps => ({
  events: new EventBridgeClient({ region: "us-east-1" }),
  dynamo: new DynamoDBClient({ region: "us-east-1" }),
  sqs: new SQSClient({ region: "us-east-1" }),
  payloadObjects,
  logger: { info: () => {}, warn: () => {}, error: () => {} },
  now: () => new Date("2026-05-06T07:08:09.000Z"),
  random: () => 0.5,
  sleep: async () => {},
});

function event(index: number, blob: string): SpoolEvent {
  return createEvent({
    id: `evt-${index}`,
    type: "OrderPlaced",
    schemaVersion: "1.0",
    source: "spool.checkout",
    correlationId: `corr-${index}`,
    data: { blob },
  });
}

function record(index: number, row: Record<string, unknown>) {
  return {
    eventID: `stream-${index}`,
    eventName: "INSERT",
    eventSourceARN: "arn:aws:dynamodb:us-east-1:000000000000:table/outbox/stream/2026",
    dynamodb: { SequenceNumber: String(1000 + index), NewImage: marshall(row) },
  } as unknown as DynamoDBRecord;
}

/** The PutEvents entry the publisher makes of this event when it publishes it inline. */
const inlineEntry = (e: SpoolEvent): PutEventsRequestEntry => ({
  Source: e.source,
  DetailType: e.type,
  Detail: JSON.stringify(e),
  Time: new Date(e.time),
});

/** An event whose inline entry is exactly `size` bytes as EventBridge counts them. */
function eventOfEntrySize(index: number, size: number): SpoolEvent {
  const base = entrySize(inlineEntry(event(index, "")));
  const e = event(index, "x".repeat(size - base));
  expect(entrySize(inlineEntry(e))).toBe(size);
  return e;
}

function published(): PutEventsRequestEntry[] {
  return events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
}

beforeEach(() => {
  events.reset();
  dynamo.reset();
  sqs.reset();
  objects = new FakePayloadObjects();
  dynamo.on(UpdateItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: "dlq-1" });
  events.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `eb-${i}` })),
  }));
});

describe("outbox publisher with a payload store", () => {
  it("publishes an entry of exactly the threshold inline and offloads one a byte over it", async () => {
    const atLimit = eventOfEntrySize(0, THRESHOLD);
    const over = eventOfEntrySize(1, THRESHOLD + 1);
    const response = await publishOutbox(
      [record(0, { ...outboxRow(atLimit) }), record(1, { ...outboxRow(over) })],
      config,
      depsWith(objects),
    );
    expect(response.report.published).toEqual(["evt-0", "evt-1"]);

    const [inline, pointer] = published();
    expect(inline?.Detail).toBe(JSON.stringify(atLimit));
    // The object is the event as the producer wrote it, under the hash of its bytes.
    const key = payloadKey(JSON.stringify(over));
    expect(objects.puts).toEqual([{ bucket: BUCKET, key }]);
    expect(objects.objects.get(`${BUCKET}/${key}`)).toBe(JSON.stringify(over));
    // Rules still match: Source and DetailType unchanged; the detail keeps the envelope's fields.
    expect(pointer).toMatchObject({ Source: "spool.checkout", DetailType: "OrderPlaced" });
    const detail = JSON.parse(pointer?.Detail ?? "{}");
    expect(detail).toEqual({
      id: "evt-1",
      type: "OrderPlaced",
      schemaVersion: "1.0",
      time: over.time,
      source: "spool.checkout",
      correlationId: "corr-1",
      [EVENT_POINTER_FIELD]: [POINTER_CLASS, { s3BucketName: BUCKET, s3Key: key }],
      payloadSize: Buffer.byteLength(JSON.stringify(over)),
    });
    // A subscriber with the store gets the event back byte for byte.
    await expect(
      resolveBody(pointer?.Detail ?? "", undefined, { bucket: BUCKET, objects }),
    ).resolves.toBe(JSON.stringify(over));
  });

  it("publishes an event over EventBridge's own limit as a pointer instead of dead-lettering it", async () => {
    const huge = event(0, "x".repeat(EVENTBRIDGE_PUT_EVENTS_BYTES));
    const response = await publishOutbox(
      [record(0, { ...outboxRow(huge) })],
      config,
      depsWith(objects),
    );
    expect(response.report).toMatchObject({ published: ["evt-0"], deadLettered: [] });
    expect(entrySize(published()[0] as PutEventsRequestEntry)).toBeLessThan(THRESHOLD);
    expect(sqs.commandCalls(SendMessageCommand)).toEqual([]);
  });

  it("dead-letters an offloaded event EventBridge refuses with its pointer detail, not the body", async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "MalformedDetail", ErrorMessage: "no" }],
    });
    const huge = event(0, "x".repeat(EVENTBRIDGE_PUT_EVENTS_BYTES));
    const response = await publishOutbox(
      [record(0, { ...outboxRow(huge) })],
      config,
      depsWith(objects),
    );
    expect(response.report.deadLettered).toEqual(["evt-0"]);
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
    expect(body).toBe(published()[0]?.Detail);
    expect(JSON.parse(body)[EVENT_POINTER_FIELD]).toBeDefined();
  });

  it("leaves an event whose object could not be written unpublished, for the stream to retry", async () => {
    const failing = new FakePayloadObjects();
    failing.put = async () => {
      throw Object.assign(new Error("slow down"), { name: "SlowDown" });
    };
    const big = eventOfEntrySize(0, THRESHOLD + 1);
    const small = event(1, "");
    const response = await publishOutbox(
      [record(0, { ...outboxRow(big) }), record(1, { ...outboxRow(small) })],
      config,
      depsWith(failing),
    );
    expect(published().map((e) => JSON.parse(e.Detail ?? "{}").id)).toEqual(["evt-1"]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "1000" }]);
    // Nothing marked, nothing dead-lettered: the row stays PENDING.
    const marked = dynamo
      .commandCalls(UpdateItemCommand)
      .map((c) => unmarshall(c.args[0].input.Key ?? {}).id);
    expect(marked).toEqual(["evt-1"]);
    expect(sqs.commandCalls(SendMessageCommand)).toEqual([]);
  });

  it("publishes a row that already holds a pointer (outboxPutLarge) as it is", async () => {
    const large = event(0, "y".repeat(OUTBOX_ROW_EVENT_MAX_BYTES));
    const put = await outboxPutLarge("outbox", large, { bucket: BUCKET, objects }, "order-0");
    const row = unmarshall(put.Put?.Item ?? {});
    expect(Buffer.byteLength(String(row.event))).toBeLessThan(1_000);
    expect(objects.puts).toHaveLength(1);

    const response = await publishOutbox([record(0, row)], config, depsWith(objects));
    expect(response.report.published).toEqual(["evt-0"]);
    expect(published()[0]?.Detail).toBe(row.event);
    // Not stored a second time: the pointer detail is small.
    expect(objects.puts).toHaveLength(1);
  });

  it("keeps a row under DynamoDB's item size inline", async () => {
    const small = event(0, "z".repeat(1_000));
    const put = await outboxPutLarge("outbox", small, { bucket: BUCKET, objects });
    expect(unmarshall(put.Put?.Item ?? {}).event).toBe(JSON.stringify(small));
    expect(objects.puts).toEqual([]);
  });

  it("refuses to offload without the objects port (a misbuilt publisher)", async () => {
    const big = eventOfEntrySize(0, THRESHOLD + 1);
    await expect(
      publishOutbox([record(0, { ...outboxRow(big) })], config, depsWith(undefined)),
    ).rejects.toThrow(ConfigurationError);
  });

  it("without a store, still dead-letters only what EventBridge cannot take", async () => {
    const noStore = { ...config, payloadBucket: undefined };
    const over = eventOfEntrySize(0, THRESHOLD + 1);
    const response = await publishOutbox(
      [record(0, { ...outboxRow(over) })],
      noStore,
      depsWith(undefined),
    );
    expect(response.report.published).toEqual(["evt-0"]);
    expect(published()[0]?.Detail).toBe(JSON.stringify(over));
  });

  it("reads its threshold from the environment, 240 KiB by default, under EventBridge's limit", () => {
    const env = {
      [PUBLISHER_ENV.eventBusName]: "b",
      [PUBLISHER_ENV.outboxTable]: "t",
      [PUBLISHER_ENV.deadLetterQueueUrl]: "q",
    };
    expect(publisherConfigFromEnv(env)).toMatchObject({
      payloadBucket: undefined,
      offloadThresholdBytes: DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES,
    });
    expect(DEFAULT_EVENT_OFFLOAD_THRESHOLD_BYTES).toBeLessThan(256_000);
    expect(
      publisherConfigFromEnv({
        ...env,
        SPOOL_PAYLOAD_BUCKET: BUCKET,
        [PUBLISHER_ENV.offloadThresholdBytes]: "0",
      }),
    ).toMatchObject({ payloadBucket: BUCKET, offloadThresholdBytes: 0 });
    expect(() =>
      publisherConfigFromEnv({
        ...env,
        [PUBLISHER_ENV.offloadThresholdBytes]: String(EVENTBRIDGE_PUT_EVENTS_BYTES),
      }),
    ).toThrow(/SPOOL_OFFLOAD_THRESHOLD_BYTES must be an integer from 0 to 999999/);
  });
});

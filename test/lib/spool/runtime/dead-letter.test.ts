import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSMessageAttributes } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEAD_LETTER_ATTRIBUTE,
  type DeadLetterInput,
  type DeadLetterMetadata,
  deadLetterMessage,
  deadLetterMetadata,
  parseDeadLetterMetadata,
  sendToDeadLetterQueue,
} from "../../../../lib/spool/runtime/dead-letter.js";
import type { Classified } from "../../../../lib/spool/runtime/errors.js";
import {
  parseReplayMarker,
  REPLAY_ATTRIBUTE,
} from "../../../../lib/spool/runtime/replay-marker.js";
import {
  FIFO_QUEUE_ARN,
  FIRST_RECEIVED_MS,
  STANDARD_QUEUE_ARN,
  sqsRecord,
  stringAttribute,
} from "../../../helpers/sqs.js";

const NOW = new Date("2024-05-01T10:05:00.000Z");
const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq";
const FIFO_DLQ_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/q-dlq.fifo";

const failure: Classified = {
  kind: "permanent",
  errorClass: "PermanentError",
  code: "SCHEMA_INVALID",
  message: "the message does not match its schema",
  details: { issues: [{ path: "seq", message: "expected number" }] },
};

function input(overrides: Partial<DeadLetterInput> = {}): DeadLetterInput {
  const body = { schemaVersion: 1, orderId: "o-1" };
  return {
    record: sqsRecord({ messageId: "m-1", body, attempt: 3 }),
    failure,
    reason: "permanent-failure",
    correlationId: "corr-1",
    body,
    consumer: "order-events",
    now: NOW,
    ...overrides,
  };
}

describe("deadLetterMetadata", () => {
  it("records what an operator needs from the record and the failure", () => {
    expect(deadLetterMetadata(input())).toEqual({
      version: 1,
      reason: "permanent-failure",
      errorClass: "PermanentError",
      errorCode: "SCHEMA_INVALID",
      errorMessage: "the message does not match its schema",
      errorDetails: { issues: [{ path: "seq", message: "expected number" }] },
      messageId: "m-1",
      attempts: 3,
      firstFailureAt: new Date(FIRST_RECEIVED_MS).toISOString(),
      lastFailureAt: NOW.toISOString(),
      sourceQueue: STANDARD_QUEUE_ARN,
      correlationId: "corr-1",
      schemaVersion: 1,
      consumer: "order-events",
    } satisfies DeadLetterMetadata);
  });

  it("reads the attempt count from ApproximateReceiveCount", () => {
    const record = sqsRecord({ messageId: "m", body: {}, attempt: 5 });
    expect(deadLetterMetadata(input({ record })).attempts).toBe(5);
  });

  it("counts a missing receive count as the first attempt", () => {
    const record = sqsRecord({
      messageId: "m",
      body: {},
      attributes: { ApproximateReceiveCount: "" },
    });
    expect(deadLetterMetadata(input({ record })).attempts).toBe(1);
  });

  it("falls back to now when the first-receive timestamp is missing or bad", () => {
    for (const value of ["", "not-a-number", "0"]) {
      const record = sqsRecord({
        messageId: "m",
        body: {},
        attributes: { ApproximateFirstReceiveTimestamp: value },
      });
      expect(deadLetterMetadata(input({ record })).firstFailureAt).toBe(NOW.toISOString());
    }
  });

  it("takes the source queue from the record's eventSourceARN", () => {
    const record = sqsRecord({ messageId: "m", body: {}, fifo: true });
    expect(deadLetterMetadata(input({ record })).sourceQueue).toBe(FIFO_QUEUE_ARN);
  });

  it("takes schemaVersion from the body (number or string), null otherwise", () => {
    expect(deadLetterMetadata(input({ body: { schemaVersion: "2024-01" } })).schemaVersion).toBe(
      "2024-01",
    );
    expect(deadLetterMetadata(input({ body: undefined })).schemaVersion).toBeNull();
    expect(deadLetterMetadata(input({ body: "text" })).schemaVersion).toBeNull();
    expect(
      deadLetterMetadata(input({ body: { schemaVersion: { v: 1 } } })).schemaVersion,
    ).toBeNull();
    expect(deadLetterMetadata(input({ body: null })).schemaVersion).toBeNull();
  });

  it("carries the MessageGroupId of a FIFO record, and none for a standard one", () => {
    const fifo = sqsRecord({ messageId: "m", body: {}, fifo: true, groupId: "order-7" });
    expect(deadLetterMetadata(input({ record: fifo })).messageGroupId).toBe("order-7");
    expect(deadLetterMetadata(input())).not.toHaveProperty("messageGroupId");
  });

  it("truncates the error message to 1000 characters", () => {
    const long = "x".repeat(5_000);
    const metadata = deadLetterMetadata(input({ failure: { ...failure, message: long } }));
    expect(metadata.errorMessage).toHaveLength(1_000);
    expect(metadata.errorMessage.endsWith("…")).toBe(true);
    expect(metadata.errorMessage.startsWith("x".repeat(999))).toBe(true);
  });

  it("keeps a message of exactly 1000 characters whole", () => {
    const exact = "y".repeat(1_000);
    expect(
      deadLetterMetadata(input({ failure: { ...failure, message: exact } })).errorMessage,
    ).toBe(exact);
  });

  it("replaces details over 2000 characters of JSON with a truncated string", () => {
    const details = { blob: "z".repeat(3_000) };
    const metadata = deadLetterMetadata(input({ failure: { ...failure, details } }));
    const truncated = (metadata.errorDetails as { truncated: string }).truncated;
    expect(Object.keys(metadata.errorDetails ?? {})).toEqual(["truncated"]);
    expect(truncated).toHaveLength(2_000);
    expect(truncated.startsWith('{"blob":"zzz')).toBe(true);
  });

  it("omits errorDetails when the failure has none", () => {
    const { details: _none, ...withoutDetails } = failure;
    expect(deadLetterMetadata(input({ failure: withoutDetails }))).not.toHaveProperty(
      "errorDetails",
    );
  });
});

describe("deadLetterMessage", () => {
  const metadata = deadLetterMetadata(input());

  it("sends the original body byte for byte to the DLQ URL", () => {
    const body = '{ "b": 1,\n  "a": "ü \\u00e9" }  ';
    const record = sqsRecord({ messageId: "m-1", body });
    const message = deadLetterMessage(DLQ_URL, record, metadata);
    expect(message.QueueUrl).toBe(DLQ_URL);
    expect(message.MessageBody).toBe(body);
  });

  it("adds the metadata as a String attribute holding its JSON", () => {
    const message = deadLetterMessage(DLQ_URL, input().record, metadata);
    const attribute = message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE];
    expect(attribute?.DataType).toBe("String");
    expect(JSON.parse(attribute?.StringValue ?? "")).toEqual(metadata);
  });

  it("carries the original string and binary attributes", () => {
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    const record = sqsRecord({
      messageId: "m-1",
      body: "{}",
      messageAttributes: {
        "correlation-id": stringAttribute("corr-1"),
        priority: { ...stringAttribute("7"), dataType: "Number" },
        blob: {
          binaryValue: binary.toString("base64"),
          stringListValues: [],
          binaryListValues: [],
          dataType: "Binary",
        },
      },
    });
    const attributes = deadLetterMessage(DLQ_URL, record, metadata).MessageAttributes ?? {};
    expect(attributes["correlation-id"]).toEqual({ DataType: "String", StringValue: "corr-1" });
    expect(attributes.priority).toEqual({ DataType: "Number", StringValue: "7" });
    expect(attributes.blob?.DataType).toBe("Binary");
    expect(Buffer.from(attributes.blob?.BinaryValue ?? new Uint8Array())).toEqual(binary);
  });

  it("replaces an old spool-dead-letter attribute (a replayed dead letter failing again)", () => {
    const record = sqsRecord({
      messageId: "m-1",
      body: "{}",
      messageAttributes: { [DEAD_LETTER_ATTRIBUTE]: stringAttribute('{"version":1,"old":true}') },
    });
    const attributes = deadLetterMessage(DLQ_URL, record, metadata).MessageAttributes ?? {};
    expect(JSON.parse(attributes[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? "")).toEqual(metadata);
  });

  it("does not count an old spool-dead-letter attribute against the limit", () => {
    const attributes: SQSMessageAttributes = {
      [DEAD_LETTER_ATTRIBUTE]: stringAttribute('{"version":1}'),
    };
    for (let i = 0; i < 9; i++) attributes[`attr-${i}`] = stringAttribute(String(i));
    const record = sqsRecord({ messageId: "m-1", body: "{}", messageAttributes: attributes });
    const sent = deadLetterMessage(DLQ_URL, record, metadata).MessageAttributes ?? {};
    expect(Object.keys(sent).sort()).toEqual(
      [DEAD_LETTER_ATTRIBUTE, ...Array.from({ length: 9 }, (_, i) => `attr-${i}`)].sort(),
    );
  });

  it("keeps a replay's mark first when it must cut attributes, so a replayed message dead-lettered again still names its replay", () => {
    const many: SQSMessageAttributes = {};
    for (let i = 0; i < 12; i++) many[`attr-${i}`] = stringAttribute(String(i));
    // Last in the event, as a replay adds it after the original's own attributes.
    many[REPLAY_ATTRIBUTE] = stringAttribute('{"replayId":"r-1","deadLetterId":"d-1","count":1}');
    const record = sqsRecord({ messageId: "m-1", body: "{}", messageAttributes: many });
    const attributes = deadLetterMessage(DLQ_URL, record, metadata).MessageAttributes ?? {};
    expect(Object.keys(attributes)).toHaveLength(10);
    expect(parseReplayMarker(attributes)).toEqual({
      replayId: "r-1",
      deadLetterId: "d-1",
      count: 1,
    });
    expect(attributes[DEAD_LETTER_ATTRIBUTE]).toBeDefined();
  });

  it("never sends more than 10 attributes, keeping the metadata", () => {
    const many: SQSMessageAttributes = {};
    for (let i = 0; i < 12; i++) many[`attr-${i}`] = stringAttribute(String(i));
    many[DEAD_LETTER_ATTRIBUTE] = stringAttribute("{}");
    const record = sqsRecord({ messageId: "m-1", body: "{}", messageAttributes: many });
    const attributes = deadLetterMessage(DLQ_URL, record, metadata).MessageAttributes ?? {};
    expect(Object.keys(attributes)).toHaveLength(10);
    expect(JSON.parse(attributes[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? "")).toEqual(metadata);
    expect(attributes["attr-0"]).toEqual({ DataType: "String", StringValue: "0" });
  });

  it("sets no group or deduplication id for a standard DLQ", () => {
    const message = deadLetterMessage(DLQ_URL, input().record, metadata);
    expect(message).not.toHaveProperty("MessageGroupId");
    expect(message).not.toHaveProperty("MessageDeduplicationId");
  });

  it("keeps the original message group on a FIFO DLQ and deduplicates by message id", () => {
    const record = sqsRecord({ messageId: "m-9", body: "{}", fifo: true, groupId: "order-7" });
    const fifoMetadata = deadLetterMetadata(input({ record }));
    const message = deadLetterMessage(FIFO_DLQ_URL, record, fifoMetadata);
    expect(message.MessageGroupId).toBe("order-7");
    expect(message.MessageDeduplicationId).toBe("m-9");
  });

  it('uses the "spool-dead-letters" group on a FIFO DLQ when the record has no group', () => {
    const record = sqsRecord({ messageId: "m-9", body: "{}", fifo: true, groupId: null });
    const message = deadLetterMessage(FIFO_DLQ_URL, record, deadLetterMetadata(input({ record })));
    expect(message.MessageGroupId).toBe("spool-dead-letters");
    expect(message.MessageDeduplicationId).toBe("m-9");
  });
});

describe("parseDeadLetterMetadata", () => {
  const metadata = deadLetterMetadata(input());
  const message = deadLetterMessage(DLQ_URL, input().record, metadata);

  it("round-trips the metadata from SendMessage-shaped attributes (StringValue)", () => {
    expect(parseDeadLetterMetadata(message.MessageAttributes)).toEqual(metadata);
  });

  it("reads Lambda-event-shaped attributes (stringValue) too", () => {
    const value = message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? "";
    expect(parseDeadLetterMetadata({ [DEAD_LETTER_ATTRIBUTE]: { stringValue: value } })).toEqual(
      metadata,
    );
  });

  it("returns undefined for a foreign message", () => {
    expect(parseDeadLetterMetadata(undefined)).toBeUndefined();
    expect(parseDeadLetterMetadata({})).toBeUndefined();
    expect(parseDeadLetterMetadata({ other: { StringValue: "x" } })).toBeUndefined();
  });

  it("returns undefined for bad JSON, JSON null or another version", () => {
    for (const raw of ["{not json", "null", "42", '{"version":2}']) {
      expect(parseDeadLetterMetadata({ [DEAD_LETTER_ATTRIBUTE]: { StringValue: raw } })).toBe(
        undefined,
      );
    }
  });
});

describe("sendToDeadLetterQueue", () => {
  const sqsMock = mockClient(SQSClient);
  afterEach(() => sqsMock.reset());

  it("sends one SendMessage with the body and metadata and returns the metadata", async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "dlq-1" });
    const metadata = await sendToDeadLetterQueue(new SQSClient({}), DLQ_URL, input());
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(DLQ_URL);
    expect(sent?.MessageBody).toBe(input().record.body);
    expect(JSON.parse(sent?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? "")).toEqual(
      metadata,
    );
  });

  it("throws when SQS refuses, so the caller can keep the record", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("AccessDenied"));
    await expect(sendToDeadLetterQueue(new SQSClient({}), DLQ_URL, input())).rejects.toThrow(
      "AccessDenied",
    );
  });
});

import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigurationError } from "../../../../lib/spool/runtime/env.js";
import {
  eventPointerDetail,
  PAYLOAD_SIZE_ATTRIBUTE,
  payloadKey,
  pointerBody,
} from "../../../../lib/spool/runtime/payload-pointer.js";
import { sqsConsumerHandler } from "../../../../lib/spool/runtime/sqs-consumer.js";
import { FakePayloadObjects } from "../../../helpers/fake-payload-objects.js";
import { lambdaContext, sqsEvent } from "../../../helpers/sqs.js";
import {
  body,
  deadLetters,
  failedIds,
  harness,
  invoke,
  Message,
  metadataOf,
  record,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();
const s3Mock = mockClient(S3Client);
beforeEach(() => s3Mock.reset());

const BUCKET = "payloads-bucket";
const sizeAttribute = { [PAYLOAD_SIZE_ATTRIBUTE]: { dataType: "Number", stringValue: "42" } };

function withStore() {
  const objects = new FakePayloadObjects();
  const h = harness({ config: { payloadBucket: BUCKET }, payloadObjects: objects });
  return { h, objects };
}

describe("a consumer with a payload store", () => {
  it("processes the stored body a pointer names, validated by the schema", async () => {
    const { h, objects } = withStore();
    const stored = { ...body("big"), tags: ["x".repeat(1_000)] };
    await objects.put({ bucket: BUCKET, key: "k1" }, JSON.stringify(stored));
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: pointerBody({ bucket: BUCKET, key: "k1" }),
        messageAttributes: sizeAttribute,
      }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.process.mock.calls[0]?.[0]).toEqual(stored);
    expect(deadLetters()).toEqual([]);
  });

  it("dead-letters a malformed pointer on its first attempt, keeping the body as it came", async () => {
    const { h } = withStore();
    const malformed = `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3Key":"k"}]`;
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: malformed, messageAttributes: sizeAttribute }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).not.toHaveBeenCalled();
    const [letter] = deadLetters();
    expect(letter?.MessageBody).toBe(malformed);
    expect(letter?.MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]).toEqual({
      DataType: "Number",
      StringValue: "42",
    });
    expect(metadataOf(letter)).toMatchObject({
      reason: "permanent-failure",
      errorCode: "PAYLOAD_UNRESOLVABLE",
      attempts: 1,
    });
  });

  it("dead-letters a pointer to a missing object or to another bucket, reading only its store", async () => {
    const { h, objects } = withStore();
    const missing = pointerBody({ bucket: BUCKET, key: "expired" });
    const foreign = pointerBody({ bucket: "someone-elses", key: "k" });
    await invoke(
      h,
      record({ messageId: "m-1", body: missing, messageAttributes: sizeAttribute }),
      record({ messageId: "m-2", body: foreign, messageAttributes: sizeAttribute }),
    );
    const letters = deadLetters();
    expect(letters.map((l) => l.MessageBody).sort()).toEqual([foreign, missing].sort());
    for (const letter of letters) {
      expect(metadataOf(letter).errorCode).toBe("PAYLOAD_UNRESOLVABLE");
    }
    expect(objects.gets).toEqual([{ bucket: BUCKET, key: "expired" }]);
  });

  it("resolves an event pointer detail (no attributes: EventBridge delivers none) to the stored event", async () => {
    const { h, objects } = withStore();
    const stored = JSON.stringify({ ...body("evt"), tags: ["y".repeat(2_000)] });
    const pointer = { bucket: BUCKET, key: payloadKey(stored) };
    await objects.put(pointer, stored);
    const detail = eventPointerDetail(JSON.parse(stored), pointer, stored.length);
    const gone = eventPointerDetail(JSON.parse(stored), { bucket: BUCKET, key: "sha256/gone" }, 1);
    const response = await invoke(
      h,
      record({ messageId: "m-1", body: detail }),
      record({ messageId: "m-2", body: gone }),
    );
    expect(failedIds(response)).toEqual([]);
    expect(h.process).toHaveBeenCalledTimes(1);
    expect(h.process.mock.calls[0]?.[0]).toEqual(JSON.parse(stored));
    // The one whose object is gone is dead-lettered at once, its pointer detail kept for replay.
    const [letter] = deadLetters();
    expect(letter?.MessageBody).toBe(gone);
    expect(metadataOf(letter)).toMatchObject({ errorCode: "PAYLOAD_UNRESOLVABLE", attempts: 1 });
  });

  it("retries when the store cannot be read (a transient failure, no dead letter)", async () => {
    const { h, objects } = withStore();
    objects.failGetsWith = Object.assign(new Error("Service Unavailable"), { name: "SlowDown" });
    const response = await invoke(
      h,
      record({
        messageId: "m-1",
        body: pointerBody({ bucket: BUCKET, key: "k" }),
        messageAttributes: sizeAttribute,
      }),
    );
    expect(failedIds(response)).toEqual(["m-1"]);
    expect(deadLetters()).toEqual([]);
  });
});

describe("a consumer without a payload store", () => {
  it("dead-letters a pointer it cannot read, and processes ordinary bodies", async () => {
    const h = harness();
    await invoke(
      h,
      record({
        messageId: "m-1",
        body: pointerBody({ bucket: BUCKET, key: "k" }),
        messageAttributes: sizeAttribute,
      }),
      record({ messageId: "m-2", body: body("plain") }),
    );
    expect(h.process).toHaveBeenCalledTimes(1);
    const [letter] = deadLetters();
    expect(metadataOf(letter)).toMatchObject({ errorCode: "PAYLOAD_UNRESOLVABLE" });
    expect(metadataOf(letter).errorMessage).toMatch(/no payload store/);
  });

  it("refuses to start when its configuration names a store it was given no way to read", () => {
    expect(() => harness({ config: { payloadBucket: BUCKET } })).toThrow(ConfigurationError);
  });
});

describe("sqsConsumerHandler with a store in its environment", () => {
  const build = () => ({ idempotencyKey: (m: Message) => m.id, process });
  const process = vi.fn(async (message: Message) => ({ handled: message.id }));

  it("reads pointers through the S3 adapter without being given one", async () => {
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("SPOOL_PAYLOAD_BUCKET", BUCKET);
    const stored = body("from-s3");
    s3Mock
      .on(GetObjectCommand, { Bucket: BUCKET, Key: "k1" })
      .resolves({ Body: { transformToString: async () => JSON.stringify(stored) } } as never);
    const handler = sqsConsumerHandler(Message, build);
    const response = await handler(
      sqsEvent(
        record({
          messageId: "m-1",
          body: pointerBody({ bucket: BUCKET, key: "k1" }),
          messageAttributes: sizeAttribute,
        }),
      ),
      lambdaContext(),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(process).toHaveBeenCalledWith(stored, expect.anything());
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it("takes other payloadObjects through its overrides", async () => {
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("SPOOL_PAYLOAD_BUCKET", BUCKET);
    const objects = new FakePayloadObjects();
    await objects.put({ bucket: BUCKET, key: "k1" }, JSON.stringify(body("from-fake")));
    const handler = sqsConsumerHandler(Message, build, { payloadObjects: objects });
    await handler(
      sqsEvent(
        record({
          messageId: "m-1",
          body: pointerBody({ bucket: BUCKET, key: "k1" }),
          messageAttributes: sizeAttribute,
        }),
      ),
      lambdaContext(),
    );
    expect(objects.gets).toEqual([{ bucket: BUCKET, key: "k1" }]);
    expect(s3Mock.commandCalls(GetObjectCommand)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  DEFAULT_OFFLOAD_THRESHOLD_BYTES,
  messageBytes,
  PAYLOAD_SIZE_ATTRIBUTE,
  parsePointer,
  resolveBody,
} from "../../../../lib/spool/runtime/payload-pointer.js";
import { offloadLargeBody, spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import { FakePayloadObjects } from "../../../helpers/fake-payload-objects.js";

const QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/q";
const BUCKET = "payloads-bucket";
const large = (bytes: number) => ({ id: "big", blob: "x".repeat(bytes) });

describe("spoolMessage", () => {
  it("sends a JSON body with a correlation id and the FIFO fields given", () => {
    const input = spoolMessage({
      queueUrl: QUEUE,
      body: { id: "a" },
      correlationId: "c-1",
      groupId: "g",
      deduplicationId: "d",
    });
    expect(input).toMatchObject({
      QueueUrl: QUEUE,
      MessageBody: '{"id":"a"}',
      MessageAttributes: { "correlation-id": { DataType: "String", StringValue: "c-1" } },
      MessageGroupId: "g",
      MessageDeduplicationId: "d",
    });
  });

  it("carries a tenant as an attribute and, on a standard queue, as the MessageGroupId", () => {
    const input = spoolMessage({ queueUrl: QUEUE, body: { id: "a" }, tenantId: "acme-1" });
    expect(input.MessageAttributes?.["tenant-id"]).toEqual({
      DataType: "String",
      StringValue: "acme-1",
    });
    expect(input.MessageGroupId).toBe("acme-1");
    // An explicit group id wins; on a FIFO queue the tenant never becomes the ordering key.
    expect(spoolMessage({ queueUrl: QUEUE, body: 1, tenantId: "t", groupId: "g" })).toMatchObject({
      MessageGroupId: "g",
    });
    const fifo = spoolMessage({ queueUrl: `${QUEUE}.fifo`, body: 1, tenantId: "t" });
    expect(fifo.MessageGroupId).toBeUndefined();
    expect(fifo.MessageAttributes?.["tenant-id"]?.StringValue).toBe("t");
    // No tenant: no attribute, no group id.
    const plain = spoolMessage({ queueUrl: QUEUE, body: 1 });
    expect(plain.MessageGroupId).toBeUndefined();
    expect(plain.MessageAttributes?.["tenant-id"]).toBeUndefined();
  });

  it.each(["", "has space", "x".repeat(129), "ümlaut"])(
    "refuses the tenant id %j, naming the rule and the value",
    (tenantId) => {
      expect(() => spoolMessage({ queueUrl: QUEUE, body: 1, tenantId })).toThrow(
        `tenantId must be 1-128 letters, digits or . _ : - (it is sent as the MessageGroupId), got ${JSON.stringify(tenantId)}`,
      );
    },
  );
});

describe("offloadLargeBody", () => {
  it("leaves a message at or under the threshold alone, writing nothing", async () => {
    const objects = new FakePayloadObjects();
    const input = spoolMessage({ queueUrl: QUEUE, body: { id: "small" } });
    await expect(offloadLargeBody(input, { bucket: BUCKET, objects })).resolves.toBe(input);
    expect(objects.puts).toEqual([]);
    expect(DEFAULT_OFFLOAD_THRESHOLD_BYTES).toBe(262_144);
  });

  it("stores a body over the threshold and sends the extended clients' pointer instead", async () => {
    const objects = new FakePayloadObjects();
    const input = spoolMessage({ queueUrl: QUEUE, body: large(900_000), correlationId: "c-1" });
    const sent = await offloadLargeBody(input, { bucket: BUCKET, objects });
    const pointer = parsePointer(sent.MessageBody ?? "");
    expect(pointer).toEqual({
      bucket: BUCKET,
      key: expect.stringMatching(/^sha256\/[0-9a-f]{64}$/),
    });
    expect(objects.puts).toEqual([pointer]);
    expect(sent.MessageAttributes).toEqual({
      "correlation-id": { DataType: "String", StringValue: "c-1" },
      [PAYLOAD_SIZE_ATTRIBUTE]: {
        DataType: "Number",
        StringValue: String(Buffer.byteLength(input.MessageBody ?? "")),
      },
    });
    expect(sent.QueueUrl).toBe(QUEUE);
    // What a consumer resolves is the body the producer meant to send, byte for byte.
    const resolved = await resolveBody(sent.MessageBody ?? "", sent.MessageAttributes, {
      bucket: BUCKET,
      objects,
    });
    expect(resolved).toBe(input.MessageBody);
  });

  it("counts the attributes too, and offloads everything with threshold 0", async () => {
    const objects = new FakePayloadObjects();
    const input = spoolMessage({ queueUrl: QUEUE, body: "ab", attributes: { n: "v" } });
    const size = messageBytes(input.MessageBody ?? "", input.MessageAttributes);
    expect(size).toBeGreaterThan(Buffer.byteLength(input.MessageBody ?? ""));
    const offload = (thresholdBytes: number) =>
      offloadLargeBody(input, { bucket: BUCKET, objects, thresholdBytes });
    expect(await offload(size)).toBe(input);
    expect((await offload(size - 1)).MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]).toBeDefined();
    expect((await offload(0)).MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]).toBeDefined();
  });

  it("gives the same body the same object, so a re-send points at the same thing", async () => {
    const objects = new FakePayloadObjects();
    const input = spoolMessage({ queueUrl: QUEUE, body: large(300_000) });
    const first = await offloadLargeBody(input, { bucket: BUCKET, objects });
    const again = await offloadLargeBody({ ...input }, { bucket: BUCKET, objects });
    expect(again.MessageBody).toBe(first.MessageBody);
    expect(objects.objects.size).toBe(1);
  });

  it("refuses a threshold out of range and a message with no room for the size attribute", async () => {
    const objects = new FakePayloadObjects();
    const input = spoolMessage({ queueUrl: QUEUE, body: large(300_000) });
    await expect(
      offloadLargeBody(input, { bucket: BUCKET, objects, thresholdBytes: 2_000_000 }),
    ).rejects.toThrow("thresholdBytes must be an integer from 0 to 1048576, got 2000000");
    const attributes = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`a${i}`, `v${i}`]));
    const crowded = spoolMessage({ queueUrl: QUEUE, body: large(300_000), attributes });
    await expect(offloadLargeBody(crowded, { bucket: BUCKET, objects })).rejects.toThrow(
      /at most 9 attributes .* got 10/,
    );
    expect(objects.puts).toEqual([]);
  });
});

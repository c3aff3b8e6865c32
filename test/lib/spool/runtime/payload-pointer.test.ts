import { describe, expect, it } from "vitest";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import {
  claimsPointer,
  EVENT_POINTER_FIELD,
  eventPointerDetail,
  LEGACY_PAYLOAD_SIZE_ATTRIBUTE,
  LEGACY_POINTER_CLASS,
  messageBytes,
  PAYLOAD_SIZE_ATTRIBUTE,
  POINTER_CLASS,
  parsePointer,
  payloadKey,
  pointerBody,
  resolveBody,
} from "../../../../lib/spool/runtime/payload-pointer.js";
import { FakePayloadObjects } from "../../../helpers/fake-payload-objects.js";

const BUCKET = "payloads-bucket";
const sizeAttribute = { [PAYLOAD_SIZE_ATTRIBUTE]: { dataType: "Number", stringValue: "12" } };

async function unresolvable(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect(error).toMatchObject({ code: "PAYLOAD_UNRESOLVABLE" });
  return error as PermanentError;
}

describe("the pointer format", () => {
  it("is the extended clients' two-element array", () => {
    expect(JSON.parse(pointerBody({ bucket: "b", key: "k" }))).toEqual([
      "software.amazon.payloadoffloading.PayloadS3Pointer",
      { s3BucketName: "b", s3Key: "k" },
    ]);
    expect(PAYLOAD_SIZE_ATTRIBUTE).toBe("ExtendedPayloadSize");
  });

  it("reads what the Python client writes (json.dumps spacing) and the legacy Java class", () => {
    const python = `["${POINTER_CLASS}", {"s3BucketName": "b", "s3Key": "k"}]`;
    expect(parsePointer(python)).toEqual({ bucket: "b", key: "k" });
    const legacy = JSON.stringify([LEGACY_POINTER_CLASS, { s3BucketName: "b", s3Key: "k" }]);
    expect(parsePointer(legacy)).toEqual({ bucket: "b", key: "k" });
  });

  it.each([
    ["not JSON", "[oops", /not JSON/],
    ["an array of one", `["${POINTER_CLASS}"]`, /array of two/],
    ["an object without payloadPointer", '{"s3BucketName":"b"}', /in payloadPointer/],
    ["an unknown class", '["x.Pointer",{"s3BucketName":"b","s3Key":"k"}]', /unknown pointer class/],
    ["no key", `["${POINTER_CLASS}",{"s3BucketName":"b"}]`, /no s3BucketName and s3Key/],
  ])("calls %s malformed", (_what, body, why) => {
    const parsed = parsePointer(body);
    expect("malformed" in parsed && parsed.malformed).toMatch(why);
  });

  it("reads an event pointer detail, bare or inside a whole EventBridge event", () => {
    const detail = JSON.parse(
      eventPointerDetail(
        {
          id: "e1",
          type: "OrderPlaced",
          source: "spool.checkout",
          correlationId: "c",
          // A field a newer envelope adds (a tenant) stays outside the pointer, for rules to match.
          tenantId: "t-1",
          data: {},
        },
        { bucket: "b", key: "k" },
        12,
      ),
    );
    // The envelope's routing fields stay outside the pointer; `data` does not travel.
    expect(detail).toEqual({
      id: "e1",
      type: "OrderPlaced",
      source: "spool.checkout",
      correlationId: "c",
      tenantId: "t-1",
      [EVENT_POINTER_FIELD]: [POINTER_CLASS, { s3BucketName: "b", s3Key: "k" }],
      payloadSize: 12,
    });
    const bare = JSON.stringify(detail);
    const wrapped = JSON.stringify({ "detail-type": "OrderPlaced", source: "x", detail });
    for (const body of [bare, wrapped]) {
      expect(claimsPointer(body, undefined)).toBe(true);
      expect(parsePointer(body)).toEqual({ bucket: "b", key: "k" });
    }
    // An ordinary event that mentions the field in its data is not a pointer.
    expect(claimsPointer(JSON.stringify({ id: "e", data: { payloadPointer: 1 } }), {})).toBe(false);
    // A large inline event is never parsed to look for one.
    const large = JSON.stringify({ payloadPointer: 1, data: "x".repeat(20_000) });
    expect(claimsPointer(large, {})).toBe(false);
  });

  it("is claimed by either size attribute, or by the body's shape alone", () => {
    expect(claimsPointer("{}", sizeAttribute)).toBe(true);
    expect(claimsPointer("{}", { [LEGACY_PAYLOAD_SIZE_ATTRIBUTE]: {} })).toBe(true);
    expect(claimsPointer(pointerBody({ bucket: "b", key: "k" }), {})).toBe(true);
    expect(claimsPointer('{"id":"a"}', {})).toBe(false);
    expect(claimsPointer('["a","b"]', undefined)).toBe(false);
  });

  it("counts body and attributes in UTF-8 bytes, as the extended clients do", () => {
    expect(messageBytes("é")).toBe(2);
    expect(messageBytes("ab", { n: { DataType: "String", StringValue: "v" } })).toBe(2 + 1 + 6 + 1);
  });
});

describe("resolveBody", () => {
  const store = (objects = new FakePayloadObjects()) => ({ bucket: BUCKET, objects });

  it("returns a body that is no pointer as it is, reading nothing", async () => {
    const objects = new FakePayloadObjects();
    await expect(resolveBody('{"id":"a"}', {}, store(objects))).resolves.toBe('{"id":"a"}');
    expect(objects.gets).toEqual([]);
  });

  it("returns the stored body a pointer names", async () => {
    const objects = new FakePayloadObjects();
    await objects.put({ bucket: BUCKET, key: "k1" }, '{"id":"big"}');
    const body = pointerBody({ bucket: BUCKET, key: "k1" });
    await expect(resolveBody(body, sizeAttribute, store(objects))).resolves.toBe('{"id":"big"}');
  });

  it("refuses a malformed pointer, another bucket, no store and a missing object", async () => {
    const missing = pointerBody({ bucket: BUCKET, key: "gone" });
    expect((await unresolvable(resolveBody("[1]", sizeAttribute, store()))).message).toMatch(
      /array of two/,
    );
    const foreign = pointerBody({ bucket: "someone-elses", key: "k" });
    expect((await unresolvable(resolveBody(foreign, sizeAttribute, store()))).message).toMatch(
      /not this consumer's store \(payloads-bucket\)/,
    );
    const none = { bucket: undefined, objects: undefined };
    expect((await unresolvable(resolveBody(missing, sizeAttribute, none))).message).toMatch(
      /no payload store/,
    );
    const error = await unresolvable(resolveBody(missing, sizeAttribute, store()));
    expect(error.message).toMatch(/does not exist/);
    expect(error.details).toEqual({ bucket: BUCKET, key: "gone" });
  });

  it("returns the whole event an event pointer names, checking the hash its key names", async () => {
    const objects = new FakePayloadObjects();
    const event = JSON.stringify({ id: "e1", type: "OrderPlaced", data: { note: "é".repeat(50) } });
    const pointer = { bucket: BUCKET, key: payloadKey(event) };
    await objects.put(pointer, event);
    const detail = eventPointerDetail(JSON.parse(event), pointer, Buffer.byteLength(event));
    await expect(resolveBody(detail, undefined, store(objects))).resolves.toBe(event);
    // The same key over other content: overwritten or damaged, refused.
    await objects.put(pointer, event.replace("e1", "e2"));
    const error = await unresolvable(resolveBody(detail, undefined, store(objects)));
    expect(error.message).toMatch(/does not match the hash/);
  });

  it("lets a failed read through as it is (transient: retried)", async () => {
    const objects = new FakePayloadObjects();
    objects.failGetsWith = Object.assign(new Error("slow down"), { name: "SlowDown" });
    const body = pointerBody({ bucket: BUCKET, key: "k" });
    await expect(resolveBody(body, sizeAttribute, store(objects))).rejects.toThrow("slow down");
  });
});

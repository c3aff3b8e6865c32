import { describe, expect, it } from "vitest";
import { PermanentError } from "../../../../lib/spool/runtime/errors.js";
import {
  claimsPointer,
  LEGACY_PAYLOAD_SIZE_ATTRIBUTE,
  LEGACY_POINTER_CLASS,
  messageBytes,
  PAYLOAD_SIZE_ATTRIBUTE,
  POINTER_CLASS,
  parsePointer,
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
    ["an object", '{"s3BucketName":"b"}', /array of two/],
    ["an unknown class", '["x.Pointer",{"s3BucketName":"b","s3Key":"k"}]', /unknown pointer class/],
    ["no key", `["${POINTER_CLASS}",{"s3BucketName":"b"}]`, /no s3BucketName and s3Key/],
  ])("calls %s malformed", (_what, body, why) => {
    const parsed = parsePointer(body);
    expect("malformed" in parsed && parsed.malformed).toMatch(why);
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

  it("lets a failed read through as it is (transient: retried)", async () => {
    const objects = new FakePayloadObjects();
    objects.failGetsWith = Object.assign(new Error("slow down"), { name: "SlowDown" });
    const body = pointerBody({ bucket: BUCKET, key: "k" });
    await expect(resolveBody(body, sizeAttribute, store(objects))).rejects.toThrow("slow down");
  });
});

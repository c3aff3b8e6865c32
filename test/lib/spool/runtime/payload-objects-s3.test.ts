import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { classify, TransientError } from "../../../../lib/spool/runtime/errors.js";
import {
  s3Offload,
  s3PayloadObjects,
  sharedS3PayloadObjects,
} from "../../../../lib/spool/runtime/payload-objects-s3.js";
import { resolveBody } from "../../../../lib/spool/runtime/payload-pointer.js";
import { offloadLargeBody, spoolMessage } from "../../../../lib/spool/runtime/producer.js";

const s3Mock = mockClient(S3Client);
const BUCKET = "payloads-bucket";
const pointer = { bucket: BUCKET, key: "sha256/abc" };

/** What GetObject answers: only the part the adapter reads of a streaming body. */
const stored = (text: string) =>
  ({ Body: { transformToString: async () => text } }) as unknown as GetObjectCommandOutput;

beforeEach(() => {
  s3Mock.reset();
  vi.stubEnv("AWS_REGION", "us-east-1");
});
afterEach(() => vi.unstubAllEnvs());

describe("s3PayloadObjects", () => {
  it("writes a body as one object under the pointer's bucket and key", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    await s3PayloadObjects().put(pointer, '{"id":"big"}');
    expect(s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: "sha256/abc", Body: '{"id":"big"}' },
    ]);
  });

  it("reads an object's body as UTF-8 text", async () => {
    s3Mock.on(GetObjectCommand, { Bucket: BUCKET, Key: "sha256/abc" }).resolves(stored("héllo"));
    await expect(s3PayloadObjects().get(pointer)).resolves.toBe("héllo");
  });

  it("answers undefined for NoSuchKey, so the consumer dead-letters the pointer as unresolvable", async () => {
    s3Mock
      .on(GetObjectCommand)
      .rejects(new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} }));
    const objects = s3PayloadObjects();
    await expect(objects.get(pointer)).resolves.toBeUndefined();
    const body =
      '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"payloads-bucket","s3Key":"sha256/abc"}]';
    const failure = await resolveBody(body, {}, { bucket: BUCKET, objects }).catch((e) => e);
    expect(classify(failure)).toMatchObject({ kind: "permanent", code: "PAYLOAD_UNRESOLVABLE" });
  });

  it.each([
    [
      "throttling",
      Object.assign(new Error("Please reduce your request rate."), { name: "SlowDown" }),
    ],
    ["a network error", Object.assign(new Error("socket hang up"), { name: "ECONNRESET" })],
    ["access denied", Object.assign(new Error("Access Denied"), { name: "AccessDenied" })],
  ])("reads %s as transient, so the record is retried", async (_, error) => {
    s3Mock.on(GetObjectCommand).rejects(error);
    const failure = await s3PayloadObjects()
      .get(pointer)
      .catch((e) => e);
    expect(failure).toBeInstanceOf(TransientError);
    expect(classify(failure)).toMatchObject({
      kind: "transient",
      code: "PAYLOAD_STORE_UNREADABLE",
      details: { bucket: BUCKET, key: "sha256/abc" },
    });
  });

  it("uses the client it is given", async () => {
    const client = new S3Client({ region: "eu-west-1" });
    const send = vi.spyOn(client, "send").mockResolvedValue({} as never);
    await s3PayloadObjects(client).put(pointer, "x");
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("is one adapter per container", () => {
    expect(sharedS3PayloadObjects()).toBe(sharedS3PayloadObjects());
  });
});

describe("offloadLargeBody with s3Offload(bucket)", () => {
  it("writes the body to S3 and sends the pointer", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const body = { id: "big", blob: "x".repeat(300_000) };
    const sent = await offloadLargeBody(
      spoolMessage({ queueUrl: "https://sqs.us-east-1.amazonaws.com/0/q", body }),
      s3Offload(BUCKET),
    );
    const [put] = s3Mock.commandCalls(PutObjectCommand);
    expect(put?.args[0].input).toMatchObject({ Bucket: BUCKET, Body: JSON.stringify(body) });
    expect(JSON.parse(sent.MessageBody ?? "")).toEqual([
      "software.amazon.payloadoffloading.PayloadS3Pointer",
      { s3BucketName: BUCKET, s3Key: put?.args[0].input.Key },
    ]);
  });

  it("passes a threshold on", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const input = spoolMessage({ queueUrl: "https://sqs.us-east-1.amazonaws.com/0/q", body: "ab" });
    await offloadLargeBody(input, s3Offload(BUCKET, 0));
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});

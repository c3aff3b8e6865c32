/**
 * The claim-check on the emulator, through the reference stack's LargePayloads part
 * (lib/example/parts/large-payloads.ts: a queue, a PayloadStore and a consumer whose step records
 * a hash of the body it was given). A ~900 KB body sent through the producer helper goes to the
 * store and the message carries a pointer; the consumer resolves it through the toolkit's S3
 * adapter and runs the step once on the whole body. A pointer that can never resolve is
 * dead-lettered on its first delivery as PAYLOAD_UNRESOLVABLE, keeping the pointer body.
 * Nothing here depends on the store's lifecycle rule, which MiniStack's CloudFormation drops
 * (docs/emulator-matrix.md).
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import {
  bodyHash,
  type LargePayloadMessage,
  largePayloadKey,
} from "../../../../lambdas/large-payloads/large-payloads.js";
import { s3PayloadObjects } from "../../../../lib/spool/runtime/payload-objects-s3.js";
import {
  PAYLOAD_SIZE_ATTRIBUTE,
  parsePointer,
} from "../../../../lib/spool/runtime/payload-pointer.js";
import { offloadLargeBody, spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  config,
  getItem,
  output,
  queueCounts,
  sqs,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

// The emulator serves buckets by path (virtual hosts would need DNS for bucket.localhost).
const s3 = new S3Client({ ...config, forcePathStyle: true });
const RUN_ATTRIBUTE = "payload-run";

describe("a consumer with a payload store (large-payloads)", () => {
  it("processes a ~900 KB body sent through the producer helper once, whole", async () => {
    const runId = uniqueId("lp");
    const queueUrl = output("LargePayloadsQueueUrl");
    const bucket = output("LargePayloadsBucketName");
    const message: LargePayloadMessage = {
      schemaVersion: 1,
      runId,
      id: "big",
      blob: `${runId}:${"0123456789abcdef".repeat(900_000 / 16)}`,
    };
    const input = await offloadLargeBody(spoolMessage({ queueUrl, body: message }), {
      bucket,
      objects: s3PayloadObjects(s3),
    });

    // What went on the queue is a pointer into the store, and the object is the body.
    const pointer = parsePointer(input.MessageBody ?? "");
    if ("malformed" in pointer) throw new Error(`not a pointer: ${pointer.malformed}`);
    expect(pointer.bucket).toBe(bucket);
    const sentBody = JSON.stringify(message);
    expect(input.MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]?.StringValue).toBe(
      String(Buffer.byteLength(sentBody)),
    );
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer.key }));
    expect(await stored.Body?.transformToString("utf-8")).toBe(sentBody);
    await sqs.send(new SendMessageCommand(input));

    const item = await waitFor(
      () => getItem(output("EffectsTableName"), largePayloadKey(runId, "big")),
      { what: "the large body's step", timeoutMs: 60_000 },
    );
    expect(item.bodyHash).toBe(bodyHash(message));
    expect(item.bodyBytes).toBe(Buffer.byteLength(sentBody));
    // Once: by the time the message has left the queue (acknowledged), the step ran one time.
    await waitFor(
      async () => {
        const counts = await queueCounts(queueUrl);
        return counts.visible + counts.inFlight + counts.delayed === 0;
      },
      { what: "the large message acknowledged" },
    );
    const after = await getItem(output("EffectsTableName"), largePayloadKey(runId, "big"));
    expect(after?.executions).toBe(1);
    const letters = await queueCounts(output("LargePayloadsDeadLetterQueueUrl"));
    expect(letters.visible + letters.inFlight).toBe(0);
  });

  it("dead-letters a malformed pointer after one attempt, as PAYLOAD_UNRESOLVABLE, keeping its body", async () => {
    const runId = uniqueId("lp-bad");
    const queueUrl = output("LargePayloadsQueueUrl");
    // The pointer class, but no bucket: it can never resolve, however often it is retried.
    const malformed = `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3Key":"${runId}"}]`;
    const input = spoolMessage({
      queueUrl,
      body: malformed,
      attributes: { [RUN_ATTRIBUTE]: runId },
    });
    await sqs.send(
      new SendMessageCommand({
        ...input,
        MessageAttributes: {
          ...input.MessageAttributes,
          [PAYLOAD_SIZE_ATTRIBUTE]: { DataType: "Number", StringValue: "900000" },
        },
      }),
    );

    const [letter] = await takeDeadLetters(
      output("LargePayloadsDeadLetterQueueUrl"),
      (m) => m.MessageAttributes?.[RUN_ATTRIBUTE]?.StringValue === runId,
      1,
    );
    expect(letter?.metadata).toMatchObject({
      reason: "permanent-failure",
      errorCode: "PAYLOAD_UNRESOLVABLE",
      attempts: 1,
    });
    expect(letter?.message.Body).toBe(malformed);
    expect(letter?.message.MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]?.StringValue).toBe("900000");
  });
});

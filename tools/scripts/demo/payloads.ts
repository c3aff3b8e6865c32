import { randomUUID } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import {
  bodyHash,
  type LargePayloadMessage,
  largePayloadKey,
} from "../../../lambdas/large-payloads/large-payloads.js";
import { s3PayloadObjects } from "../../../lib/spool/runtime/payload-objects-s3.js";
import { parsePointer } from "../../../lib/spool/runtime/payload-pointer.js";
import { offloadLargeBody, spoolMessage } from "../../../lib/spool/runtime/producer.js";
import { ok, say, seconds, step, waitWithProgress } from "../lib/narrate.js";
import type { DemoContext } from "./queues.js";

const run = randomUUID().slice(0, 6);
// Decimal kilobytes: the 900,000-byte body shows as the 900 KB the heading promises.
const kb = (bytes: number) => `${Math.round(bytes / 1000).toLocaleString("en-US")} KB`;

/**
 * A body too large for a message, through the claim-check: the producer helper stores it in the
 * PayloadStore and sends a pointer in the extended clients' format; the consumer resolves the
 * pointer before validating, and its step gets (and hashes) the whole body, once.
 */
export async function largePayloadClaimChecked(ctx: DemoContext): Promise<void> {
  step("Large payloads: a 900 KB body travels as a pointer to S3 (the claim-check)");
  const queueUrl = ctx.output("LargePayloadsQueueUrl");
  const bucket = ctx.output("LargePayloadsBucketName");
  const message: LargePayloadMessage = {
    schemaVersion: 1,
    runId: `demo-${run}`,
    id: "report",
    blob: `${run}:${"0123456789abcdef".repeat(900_000 / 16)}`,
  };
  const bodyBytes = Buffer.byteLength(JSON.stringify(message));
  // The emulator serves buckets by path (virtual hosts would need DNS for bucket.localhost).
  const s3 = new S3Client({ ...ctx.clients.config, forcePathStyle: true });
  const input = await offloadLargeBody(spoolMessage({ queueUrl, body: message }), {
    bucket,
    objects: s3PayloadObjects(s3),
  });
  const pointer = parsePointer(input.MessageBody ?? "");
  if ("malformed" in pointer) throw new Error(`the producer sent no pointer: ${pointer.malformed}`);
  say(
    `a ${kb(bodyBytes)} body, over the 256 KB offload threshold: stored as s3://${bucket}/${pointer.key}; the message carries a ${Buffer.byteLength(input.MessageBody ?? "")}-byte pointer`,
  );
  const sentAt = Date.now();
  await ctx.clients.sqs.send(new SendMessageCommand(input));

  const { value: item } = await waitWithProgress(
    "the consumer to run its step on the body",
    async () =>
      (
        await ctx.clients.ddb.send(
          new GetCommand({
            TableName: ctx.output("EffectsTableName"),
            Key: largePayloadKey(message.runId, message.id),
            ConsistentRead: true,
          }),
        )
      ).Item,
  );
  const whole = item.bodyHash === bodyHash(message) && item.bodyBytes === bodyBytes;
  const once = item.executions === 1;
  ok(
    `the step ran ${once ? "once" : `${item.executions} times`} on the ${whole ? "whole body (same SHA-256, same size)" : "WRONG body"}, ${seconds(Date.now() - sentAt)} after the send: the consumer resolved the pointer before validating the message`,
  );
  s3.destroy();
  ctx.ledger.push({
    message: `${kb(bodyBytes)} report (claim-check)`,
    outcome:
      whole && once
        ? "stored in S3 → pointer → processed once, whole"
        : `body ${whole ? "whole" : "mismatch"}, ${item.executions} runs`,
  });
}

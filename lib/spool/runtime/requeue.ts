import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { carriedAttributes } from "./dead-letter.js";
import { queueUrlFromArn } from "./retry-delays.js";

/**
 * Sending a record again as a new message, for the one case where dead-lettering it would be
 * wrong and retrying it is impossible: out of attempts while another delivery still holds its
 * work (see `requeue` in failure-policy.ts). The copy gets a fresh receive count and the same
 * body, so the same business key: it meets the idempotency record (or the effect boundary) the
 * other delivery left, and either finds the work done or does it. The count of re-sends travels
 * in an attribute, so a message that keeps meeting a stuck holder is dead-lettered in the end.
 */

/** The message attribute that counts how often a message was sent again this way. */
export const REQUEUES_ATTRIBUTE = "spool-requeues";

/** How often the record was already sent again (0 for an original message). */
export function requeuesOf(record: SQSRecord): number {
  const count = Number(record.messageAttributes?.[REQUEUES_ATTRIBUTE]?.stringValue);
  return Number.isInteger(count) && count > 0 ? count : 0;
}

/**
 * Sends the copy, delayed by `delaySeconds` (at most 900). The original may be acknowledged only
 * once this resolves: until then it is the only copy.
 */
export async function requeue(
  sqs: SQSClient,
  record: SQSRecord,
  delaySeconds: number,
): Promise<void> {
  const attributes = carriedAttributes(record);
  delete attributes[REQUEUES_ATTRIBUTE];
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrlFromArn(record.eventSourceARN),
      MessageBody: record.body,
      MessageAttributes: {
        ...attributes,
        [REQUEUES_ATTRIBUTE]: { DataType: "Number", StringValue: String(requeuesOf(record) + 1) },
      },
      DelaySeconds: delaySeconds,
      // Requeued from a standard queue only: its group id names the tenant (tenant.ts).
      ...(record.attributes.MessageGroupId
        ? { MessageGroupId: record.attributes.MessageGroupId }
        : {}),
    }),
  );
}

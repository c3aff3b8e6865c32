import type { Logger } from "@aws-lambda-powertools/logger";
import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { carriedAttributes } from "./dead-letter.js";
import { optionalEnv } from "./env.js";

/*
 * When a record comes back: after a failure (a retry delay, as its visibility timeout) or, for
 * one that arrived before its time, when it is due (a hold, below).
 */

/** SQS changes the visibility of at most 10 messages per call. */
const MAX_ENTRIES_PER_CALL = 10;

/**
 * Sets each failed record's visibility timeout: its retry delay (seconds, by message id), or 0
 * for a failed record without one, such as a FIFO record that was only skipped behind a failed
 * predecessor (its group stays blocked by that predecessor, and holding it for the full queue
 * visibility timeout would stall the group for no reason).
 *
 * Best effort: a change SQS refuses is logged, and the record still comes back, after the
 * queue's own visibility timeout.
 */
export async function applyRetryDelays(
  sqs: SQSClient,
  records: readonly SQSRecord[],
  response: SQSBatchResponse,
  retryDelays: ReadonlyMap<string, number>,
  logger: Pick<Logger, "warn">,
): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const byQueue = new Map<
    string,
    { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[]
  >();
  for (const [index, record] of records.entries()) {
    if (!failed.has(record.messageId)) continue;
    const entries = byQueue.get(record.eventSourceARN) ?? [];
    entries.push({
      Id: `r${index}`,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: retryDelays.get(record.messageId) ?? 0,
    });
    byQueue.set(record.eventSourceARN, entries);
  }
  for (const [queueArn, entries] of byQueue) {
    const queueUrl = queueUrlFromArn(queueArn);
    for (let i = 0; i < entries.length; i += MAX_ENTRIES_PER_CALL) {
      try {
        const result = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: entries.slice(i, i + MAX_ENTRIES_PER_CALL),
          }),
        );
        if (result.Failed?.length)
          logger.warn("some retry delays were not applied", { failed: result.Failed });
      } catch (error) {
        logger.warn("could not apply retry delays", { error: (error as Error).message });
      }
    }
  }
}

/** arn:aws:sqs:region:account:name → the queue URL the endpoint resolves it to. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const endpoint = optionalEnv("AWS_ENDPOINT_URL_SQS") ?? optionalEnv("AWS_ENDPOINT_URL");
  if (endpoint) return `${endpoint.replace(/\/$/, "")}/${account}/${name}`;
  const suffix = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}

/**
 * Holding a message that arrived before its time (a consumer's `notBefore`, such as a delayed
 * task's due time). EventBridge Scheduler fires a one-time schedule with one-minute precision, so
 * what it sends can arrive up to a minute early; an SQS delay is never early but stops at 15
 * minutes. An early record is held instead of processed, before the idempotency check, so it
 * takes no idempotency record and counts as no failure:
 *
 * - on a standard queue it is sent again to its own queue with `DelaySeconds` = the seconds left
 *   (rounded up, at most 900: a longer wait takes several hops) and acknowledged. The cost is one
 *   SendMessage per hop; the copy keeps the body and the message attributes (up to 9, as a
 *   dead letter does).
 * - on a FIFO queue, which has no per-message delay and whose order a re-send would break, it
 *   stays on the queue with its visibility timeout set to the seconds left; its group waits
 *   behind it (at most 12 hours per hold). That receive counts toward the queue's maxReceiveCount.
 */

/** SQS's largest per-message delay. */
export const MAX_HOLD_SECONDS = 900;
/** SQS's largest visibility timeout: how long a FIFO record can be held in place. */
const MAX_FIFO_HOLD_SECONDS = 43_200;

/** Whole seconds from `now` until `notBefore` (rounded up, never early); 0 when due or unset. */
export function secondsUntil(notBefore: Date | string | undefined, now: Date): number {
  if (notBefore === undefined) return 0;
  const at = notBefore instanceof Date ? notBefore.getTime() : Date.parse(notBefore);
  if (Number.isNaN(at)) {
    // A programming error in the consumer's notBefore, not the message's fault: retried.
    throw new TypeError(`notBefore must be a date, got ${String(notBefore)}`);
  }
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** Thrown for a FIFO record held in place: the consumer reports it failed with this delay. */
export class HeldOnQueue extends Error {
  override readonly name = "HeldOnQueue";
  constructor(readonly delaySeconds: number) {
    super(`not yet due: held on its FIFO queue for ${delaySeconds} s`);
  }
}

/**
 * Holds an early record for `seconds` (capped at 900, 12 hours for FIFO); returns the delay
 * applied. Throws HeldOnQueue for a FIFO record, and the SQS error if the re-send fails (then the record is
 * retried like any transient failure, and nothing was lost).
 */
export async function holdUntilDue(
  sqs: SQSClient,
  record: SQSRecord,
  seconds: number,
): Promise<number> {
  if (record.eventSourceARN.endsWith(".fifo")) {
    throw new HeldOnQueue(Math.min(seconds, MAX_FIFO_HOLD_SECONDS));
  }
  const delaySeconds = Math.min(seconds, MAX_HOLD_SECONDS);
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrlFromArn(record.eventSourceARN),
      MessageBody: record.body,
      MessageAttributes: carriedAttributes(record),
      DelaySeconds: delaySeconds,
      // A standard queue's group id names the tenant (tenant.ts): the copy stays in its share.
      ...(record.attributes.MessageGroupId
        ? { MessageGroupId: record.attributes.MessageGroupId }
        : {}),
    }),
  );
  return delaySeconds;
}

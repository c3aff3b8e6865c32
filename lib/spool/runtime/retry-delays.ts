import type { Logger } from "@aws-lambda-powertools/logger";
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { optionalEnv } from "./env.js";

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

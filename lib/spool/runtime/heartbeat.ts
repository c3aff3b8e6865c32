/**
 * The visibility heartbeat of a queue consumer. A record that legitimately takes longer than its
 * queue's visibility timeout would become visible again while it still runs, and a second worker
 * would run it too. With a heartbeat, every `everySeconds` the consumer pushes the visibility of
 * each record it still holds `extendBySeconds` into the future (ChangeMessageVisibility counts
 * from the call, not from the receive). If the worker dies, the extensions stop and the record
 * reappears at most `extendBySeconds` after the last one.
 *
 * The heartbeat covers the whole batch from the start of the invocation, not only the record
 * that is running: a FIFO batch runs its records one after another, and a record waiting behind
 * its group's head is held by this worker as much as the head is. Letting it reappear would
 * hand it to another worker, which could run it before its predecessor finishes (out of order)
 * and then again here (twice). Each record's heartbeat stops when that record ends; the records
 * that never ran (skipped behind a failed predecessor) stop when the batch ends, before their
 * retry delays are set.
 *
 * One timer and one ChangeMessageVisibilityBatch call per 10 records per beat, rather than a
 * call per record: a standard batch can hold thousands of records.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { MAX_VISIBILITY_TIMEOUT_SECONDS } from "./backoff.js";
import type { HeartbeatPolicy } from "./consumer-config.js";
import { queueUrlFromArn } from "./retry-delays.js";

/** SQS changes the visibility of at most 10 messages per call. */
const MAX_ENTRIES_PER_CALL = 10;

/** The batch's running heartbeat. */
export interface Heartbeat {
  /** Stops extending one record; resolves once no extension of it is still in flight. */
  stop(messageId: string): Promise<void>;
  /** Stops extending every record; resolves once no extension is still in flight. */
  stopAll(): Promise<void>;
}

const NO_HEARTBEAT: Heartbeat = { stop: async () => {}, stopAll: async () => {} };

interface Held {
  readonly id: string;
  readonly record: SQSRecord;
  /** SQS refuses a visibility past 12 hours from the receive; counted from the first one. */
  readonly limitMs: number;
}

/**
 * Starts extending the visibility of `records` (none when `policy` is undefined). A failed
 * extension is logged and counted (`HeartbeatFailed`) and never fails its record: the next beat
 * tries again, and if none succeeds the record simply comes back, as it would without a heartbeat.
 */
export function startHeartbeat(
  sqs: SQSClient,
  records: readonly SQSRecord[],
  policy: HeartbeatPolicy | undefined,
  observe: { readonly logger: Pick<Logger, "warn">; readonly metrics: Pick<Metrics, "addMetric"> },
): Heartbeat {
  if (!policy || records.length === 0) return NO_HEARTBEAT;
  const { logger, metrics } = observe;
  const startedMs = Date.now();
  const held = new Map<string, Held>();
  for (const [index, record] of records.entries()) {
    const firstReceived = Number(record.attributes.ApproximateFirstReceiveTimestamp);
    const receivedMs = Number.isFinite(firstReceived)
      ? Math.min(firstReceived, startedMs)
      : startedMs;
    held.set(record.messageId, {
      id: `h${index}`,
      record,
      limitMs: receivedMs + MAX_VISIBILITY_TIMEOUT_SECONDS * 1000,
    });
  }
  // One beat at a time: a beat still waiting for SQS when the next is due skips that one.
  let inFlight: Promise<void> | undefined;

  const failed = (count: number, detail: Record<string, unknown>) => {
    metrics.addMetric("HeartbeatFailed", MetricUnit.Count, count);
    logger.warn("could not extend the visibility of a running record", detail);
  };

  const extend = async () => {
    const nowMs = Date.now();
    const byQueue = new Map<
      string,
      { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[]
    >();
    for (const [messageId, h] of held) {
      const leftSeconds = Math.floor((h.limitMs - nowMs) / 1000);
      const seconds = Math.min(policy.extendBySeconds, leftSeconds);
      // The last extension SQS allows has been made: the record stays hidden until it ends.
      if (seconds < policy.extendBySeconds) held.delete(messageId);
      if (seconds <= 0) continue;
      const entries = byQueue.get(h.record.eventSourceARN) ?? [];
      entries.push({ Id: h.id, ReceiptHandle: h.record.receiptHandle, VisibilityTimeout: seconds });
      byQueue.set(h.record.eventSourceARN, entries);
    }
    if (held.size === 0) clearInterval(timer);
    for (const [queueArn, entries] of byQueue) {
      for (let i = 0; i < entries.length; i += MAX_ENTRIES_PER_CALL) {
        const chunk = entries.slice(i, i + MAX_ENTRIES_PER_CALL);
        try {
          const result = await sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: queueUrlFromArn(queueArn),
              Entries: chunk,
            }),
          );
          if (result.Failed?.length) failed(result.Failed.length, { failed: result.Failed });
        } catch (error) {
          failed(chunk.length, { queueArn, error: (error as Error).message });
        }
      }
    }
  };

  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = extend().finally(() => {
      inFlight = undefined;
    });
  }, policy.everySeconds * 1000);
  // Never what keeps a process alive: the batch ending stops it.
  timer.unref?.();

  return {
    async stop(messageId) {
      held.delete(messageId);
      if (held.size === 0) clearInterval(timer);
      // An extension already sent must land before the record's own visibility change (its
      // retry delay), or it would hide a record meant to come back now.
      await inFlight;
    },
    async stopAll() {
      held.clear();
      clearInterval(timer);
      await inFlight;
    },
  };
}

/**
 * The consumer's last step for a record it gives up on: the dead letter with its metadata, then
 * the bookkeeping that goes with it (metrics, the job's DEAD_LETTERED, the definition's hook).
 * Apart from the record pipeline (sqs-consumer.ts), which decides when; this says how.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSRecord } from "aws-lambda";
import type { ConsumerConfig } from "./consumer-config.js";
import type { ConsumerDefinition, ConsumerDependencies, RecordOutcome } from "./consumer-types.js";
import { type DeadLetterReason, sendToDeadLetterQueue } from "./dead-letter.js";
import { classify } from "./errors.js";
import type { JobTracking } from "./job-tracking.js";
import { REPLAY_DEAD_LETTERED_AGAIN_METRIC, replayLogKeys } from "./replay-marker.js";
import { tenantOf } from "./tenant.js";
import type { TenantMetrics } from "./tenant-metrics.js";

export interface DeadLetteringParts<M> {
  readonly config: ConsumerConfig;
  readonly definition: Pick<ConsumerDefinition<M, unknown>, "onDeadLettered">;
  readonly deps: Pick<ConsumerDependencies, "sqs" | "metrics" | "now">;
  readonly jobs: JobTracking;
  readonly tenantMetrics: TenantMetrics | undefined;
}

/**
 * The function that dead-letters one record. Throws when there is no DLQ to send to (the
 * redrive policy is then the only way out, so the record must keep failing) or the send fails:
 * the pipeline then retries the record.
 */
export function deadLettering<M>(parts: DeadLetteringParts<M>) {
  const { config, definition, deps, jobs, tenantMetrics } = parts;
  const { sqs, metrics } = deps;
  return async function deadLetter(
    record: SQSRecord,
    error: unknown,
    reason: DeadLetterReason,
    body: unknown,
    correlationId: string,
    recordLogger: Logger,
  ): Promise<RecordOutcome<never>> {
    const failure = classify(error);
    if (!config.deadLetterQueueUrl) {
      recordLogger.error(
        "no dead-letter queue configured; leaving the record to the redrive policy",
        { failure },
      );
      throw error;
    }
    const metadata = await sendToDeadLetterQueue(sqs, config.deadLetterQueueUrl, {
      record,
      failure,
      reason,
      correlationId,
      body,
      consumer: config.consumerName,
      now: deps.now(),
    });
    metrics.addMetric("DeadLettered", MetricUnit.Count, 1);
    tenantMetrics?.deadLettered(tenantOf(record, body));
    // A replayed message that died again: the replay did not fix it (an alarm watches this).
    const replay = replayLogKeys(record.messageAttributes);
    if (replay.replayId) metrics.addMetric(REPLAY_DEAD_LETTERED_AGAIN_METRIC, MetricUnit.Count, 1);
    recordLogger.warn("dead-lettered", { reason, failure, ...replay });
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    await jobs.deadLettered(
      body,
      { messageId: record.messageId, correlationId, attempt },
      failure,
      reason,
    );
    if (definition.onDeadLettered) {
      try {
        await definition.onDeadLettered(body, metadata);
      } catch (hookError) {
        recordLogger.error("onDeadLettered failed; the dead letter itself is safe", {
          error: (hookError as Error).message,
        });
      }
    }
    return { status: "dead-lettered", reason, errorCode: failure.code };
  };
}

import { createHash } from "node:crypto";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { newCorrelationId } from "../../runtime/correlation.js";
import { spoolMessage } from "../../runtime/producer.js";
import { queueUrlFromArn } from "../../runtime/retry-delays.js";
import { type JobDefinition, MAX_BACKFILL_RUNS, RUN_MESSAGE_KIND } from "../contract.js";
import { occurrencesBetween, parseRecurringExpression } from "../schedule-expression.js";
import type { RunMessage } from "./run-message.js";
import { type RunStatus, runKeyOf } from "./run-states.js";
import { readRun, recordBackfilledRun, runRecord } from "./run-store.js";

/**
 * Backfill: the runs a job's schedule would have produced in a past window, recorded by run key
 * and sent to its queue, so a missed night runs once however often the backfill is repeated.
 */

export interface BackfillOptions {
  readonly job: JobDefinition;
  readonly from: Date;
  readonly to: Date;
  /** Overrides the job's max lateness for these runs: an operator's explicit catch-up. */
  readonly maxLatenessSeconds?: number;
  /** Report what would happen; write and send nothing. */
  readonly dryRun?: boolean;
  readonly correlationId?: string;
}

export interface BackfillDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly now: () => Date;
  /** rate() jobs: the first occurrence. */
  readonly anchor?: Date;
  /**
   * Called before each run is examined (`done` runs handled so far, of `total`) and once when
   * every new run has been sent. For a progress counter.
   */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
}

export interface BackfillReport {
  readonly job: string;
  readonly from: string;
  readonly to: string;
  /** Every run the schedule produces in the window (scheduled times, oldest first). */
  readonly expected: string[];
  /** New runs recorded QUEUED and sent to the job's queue. */
  readonly enqueued: string[];
  /** Runs already QUEUED (a backfill that died before sending) sent again; the run key dedupes. */
  readonly requeued: string[];
  /** Runs already recorded by a live run or an earlier backfill: left alone. */
  readonly alreadyRecorded: { readonly scheduledTime: string; readonly status: RunStatus }[];
  /** Runs older than the max lateness: recorded SKIPPED, not executed. */
  readonly skippedTooLate: string[];
}

// In the SDK-free contract, so that `spool backfill --help` can name it without the SDK.
export { MAX_BACKFILL_RUNS };

/**
 * Enqueues every run a job's schedule would have produced in [from, to). Each run is first
 * recorded QUEUED with a conditional write keyed by its run key, and only a newly recorded run is
 * sent: a second backfill, or one overlapping live runs, sends nothing new. Runs later than the max
 * lateness are recorded SKIPPED instead.
 */
export async function backfillRuns(
  options: BackfillOptions,
  deps: BackfillDependencies,
): Promise<BackfillReport> {
  const { job, from, to } = options;
  if (!(from.getTime() < to.getTime())) {
    throw new Error(`backfill needs from < to, got ${from.toISOString()} .. ${to.toISOString()}`);
  }
  const now = deps.now();
  if (to.getTime() > now.getTime()) {
    throw new Error(
      `backfill covers past runs only: to must not be after now, got ${to.toISOString()}`,
    );
  }
  const expression = parseRecurringExpression(job.schedule);
  const times = occurrencesBetween(expression, from, to, {
    timeZone: job.timeZone,
    ...(deps.anchor ? { anchor: deps.anchor } : {}),
  });
  if (times.length > MAX_BACKFILL_RUNS) {
    throw new Error(
      `backfill of ${job.name} would cover ${times.length} runs, more than ${MAX_BACKFILL_RUNS}; split the window`,
    );
  }
  const maxLateness = options.maxLatenessSeconds ?? job.maxLatenessSeconds;
  const correlationId = options.correlationId ?? newCorrelationId();
  const report: BackfillReport = {
    job: job.name,
    from: from.toISOString(),
    to: to.toISOString(),
    expected: times.map((t) => t.toISOString()),
    enqueued: [],
    requeued: [],
    alreadyRecorded: [],
    skippedTooLate: [],
  };
  const toSend: Date[] = [];
  for (const [done, time] of times.entries()) {
    deps.onProgress?.({ done, total: times.length });
    const run = runRecord(deps.db, job, time);
    const tooLate = now.getTime() - time.getTime() > maxLateness * 1000;
    if (options.dryRun) {
      const existing = await readRun(run);
      if (existing)
        report.alreadyRecorded.push({
          scheduledTime: time.toISOString(),
          status: existing.status as RunStatus,
        });
      else (tooLate ? report.skippedTooLate : report.enqueued).push(time.toISOString());
      continue;
    }
    const recorded = await recordBackfilledRun(run, { tooLate, correlationId, now });
    if (recorded.written) {
      if (tooLate) report.skippedTooLate.push(time.toISOString());
      else {
        report.enqueued.push(time.toISOString());
        toSend.push(time);
      }
    } else if (recorded.existing?.status === "QUEUED") {
      // A backfill that died before sending: send it again, the run key dedupes.
      report.requeued.push(time.toISOString());
      toSend.push(time);
    } else {
      const status = recorded.existing?.status as RunStatus;
      report.alreadyRecorded.push({ scheduledTime: time.toISOString(), status });
    }
  }
  await sendRuns(
    job,
    toSend,
    { correlationId, maxLatenessSeconds: options.maxLatenessSeconds },
    deps,
  );
  deps.onProgress?.({ done: times.length, total: times.length });
  return report;
}

async function sendRuns(
  job: JobDefinition,
  times: Date[],
  extra: { correlationId: string; maxLatenessSeconds: number | undefined },
  deps: BackfillDependencies,
): Promise<void> {
  const queueUrl = queueUrlFromArn(job.queueArn);
  const fifo = job.queueArn.endsWith(".fifo");
  for (let i = 0; i < times.length; i += 10) {
    const chunk = times.slice(i, i + 10);
    const result = await deps.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((time, j) => {
          const message = spoolMessage({
            queueUrl,
            body: {
              kind: RUN_MESSAGE_KIND,
              schemaVersion: 1,
              job: job.name,
              scheduledTime: time.toISOString(),
              source: "backfill",
              ...(extra.maxLatenessSeconds ? { maxLatenessSeconds: extra.maxLatenessSeconds } : {}),
              correlationId: extra.correlationId,
            } satisfies RunMessage,
            correlationId: extra.correlationId,
            ...(fifo
              ? {
                  groupId: job.name,
                  deduplicationId: createHash("sha256")
                    .update(runKeyOf(job.name, time))
                    .digest("hex"),
                }
              : {}),
          });
          return {
            Id: `r${j}`,
            MessageBody: message.MessageBody,
            MessageAttributes: message.MessageAttributes,
            MessageGroupId: message.MessageGroupId,
            MessageDeduplicationId: message.MessageDeduplicationId,
          };
        }),
      }),
    );
    if (result.Failed?.length) {
      // The runs stay QUEUED: the next backfill of this window sends them again.
      throw new Error(
        `backfill of ${job.name}: ${result.Failed.length} run(s) were recorded but not sent (${result.Failed.map((f) => f.Message).join("; ")}); run the backfill again`,
      );
    }
  }
}

/**
 * Job tracking for plain queue work: each message is a job (`<kind>:<idempotency key>`) in a job
 * table, moved RUNNING when a delivery starts the step, SUCCEEDED when it returns, RETRYING when
 * it fails and will be retried, DEAD_LETTERED when the consumer parks it, and CANCELED by an
 * operator. The step reports progress and checks for a cancel between chunks.
 *
 * The toolkit may not import a construct folder, so the job table itself sits behind a port
 * (`QueueJobs`, job-port.ts): the job-table construct's `runtime/queue-jobs.ts` implements it
 * with the same conditional transitions sagas use. This module decides when to call it and what a
 * record's outcome is; sqs-consumer.ts only hooks it in.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type {
  ConsumerDefinition,
  JobDelivery,
  RecordContext,
  RecordOutcome,
} from "./consumer-types.js";
import { isContinued } from "./continuation.js";
import type { Classified } from "./errors.js";

/** Thrown past the idempotency layer (which then forgets the key): the job is canceled. */
export class JobCanceled extends Error {
  override readonly name = "JobCanceled";
  constructor(
    readonly jobId: string,
    readonly onArrival: boolean,
  ) {
    super(`job ${jobId} is canceled`);
  }
}

/** Thrown past the idempotency layer: the job finished in an earlier delivery. */
export class JobAlreadyFinished extends Error {
  override readonly name = "JobAlreadyFinished";
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(`job ${jobId} is already ${status}`);
  }
}

export type StepContext = Omit<RecordContext, "reportProgress" | "cancelled">;

export interface JobTracking {
  /**
   * Runs the step of one delivery. With job tracking: RUNNING before it (a CANCELED job is
   * dropped, a finished one acknowledged, both by throwing past the idempotency layer),
   * SUCCEEDED after it (unless it continued in another message), and a failure of a step whose job was canceled meanwhile counts as the
   * cancel it is. Without: the step runs with a context whose job calls do nothing.
   */
  run<R>(
    key: string,
    context: StepContext,
    step: (context: RecordContext) => Promise<R>,
  ): Promise<R>;
  /** The outcome of a record its job settled (canceled, finished); undefined for other errors. */
  outcomeOf(error: unknown): RecordOutcome<never> | undefined;
  /** RETRYING: a step that ran in this delivery failed and the record will be retried. */
  retrying(error: unknown, delivery: JobDelivery, failure: Classified): Promise<void>;
  /** DEAD_LETTERED: the record is in the dead-letter queue (whether or not its step ran). */
  deadLettered(
    body: unknown,
    delivery: JobDelivery,
    failure: Classified,
    reason: string,
  ): Promise<void>;
}

const NO_JOB = {
  reportProgress: async () => undefined,
  cancelled: async () => false,
} as const;

function checkProgress(done: number, total: number): void {
  // An author's mistake, thrown to the step that made it (not recorded on the job).
  if (!(Number.isFinite(done) && Number.isFinite(total) && done >= 0 && total >= 0)) {
    throw new RangeError(
      `reportProgress needs finite numbers >= 0, got done ${done} and total ${total}`,
    );
  }
}

export function jobTracking<M>(
  definition: Pick<ConsumerDefinition<M, unknown>, "schema" | "idempotencyKey" | "jobs" | "jobKey">,
  deps: { readonly logger: Logger; readonly metrics: Metrics },
): JobTracking {
  const jobs = definition.jobs;
  // The job of each error a tracked step threw, so only a delivery that ran the step moves its
  // job to RETRYING (a duplicate turned away while another delivery runs it must not).
  const stepErrors = new WeakMap<object, string>();

  const jobIdOfBody = (body: unknown): string | undefined => {
    if (!jobs) return undefined;
    const parsed = definition.schema.safeParse(body);
    if (!parsed.success) return undefined;
    const key = (definition.jobKey ?? definition.idempotencyKey)(parsed.data);
    return key ? jobs.jobId(key) : undefined;
  };

  async function failed(
    jobId: string | undefined,
    to: "RETRYING" | "DEAD_LETTERED",
    delivery: JobDelivery,
    failure: { code: string; message: string; reason?: string },
  ): Promise<void> {
    if (!jobs || !jobId) return;
    try {
      await jobs.failed(jobId, to, delivery, failure);
    } catch (error) {
      // The retry or the dead letter goes ahead either way: job state is bookkeeping here.
      deps.logger.warn(`could not mark the job ${to}`, {
        jobId,
        error: (error as Error).message,
      });
    }
  }

  return {
    async run<R>(
      key: string,
      context: StepContext,
      step: (context: RecordContext) => Promise<R>,
    ): Promise<R> {
      if (!jobs) return step({ ...context, ...NO_JOB });
      const jobId = jobs.jobId(key);
      const delivery: JobDelivery = context;
      const start = await jobs.start(jobId, key, delivery);
      if (start.outcome === "canceled") throw new JobCanceled(jobId, true);
      if (start.outcome === "finished") throw new JobAlreadyFinished(jobId, start.status);
      let result: R;
      try {
        result = await step({
          ...context,
          reportProgress: async (done, total, note) => {
            checkProgress(done, total);
            await jobs.reportProgress(jobId, { done, total, ...(note ? { note } : {}) });
          },
          cancelled: () => jobs.isCanceled(jobId),
        });
      } catch (error) {
        // A step that stopped on a cancel may end by throwing: the cancel is what happened.
        if (await jobs.isCanceled(jobId).catch(() => false)) throw new JobCanceled(jobId, false);
        if (error !== null && typeof error === "object") stepErrors.set(error, jobId);
        throw error;
      }
      // A chunk that sent a continuation (continuation.ts) leaves the job RUNNING for the next.
      if (isContinued(result)) return result;
      const finished = await jobs.succeed(jobId, delivery);
      if (!finished.ok && finished.status === "CANCELED") throw new JobCanceled(jobId, false);
      if (!finished.ok) {
        context.logger.warn("the step returned, but its job was no longer RUNNING", {
          jobId,
          status: finished.status,
        });
      }
      return result;
    },

    outcomeOf(error) {
      if (error instanceof JobCanceled) {
        deps.metrics.addMetric(
          error.onArrival ? "CanceledDropped" : "CanceledStopped",
          MetricUnit.Count,
          1,
        );
        deps.logger.info(
          error.onArrival
            ? "job canceled: message dropped without running the step"
            : "job canceled while its step ran: acknowledged, not retried",
          { jobId: error.jobId },
        );
        return { status: "canceled", jobId: error.jobId, onArrival: error.onArrival };
      }
      if (error instanceof JobAlreadyFinished) {
        deps.metrics.addMetric("DuplicatesSuppressed", MetricUnit.Count, 1);
        deps.logger.info("job already finished: acknowledged without running the step", {
          jobId: error.jobId,
          status: error.status,
        });
        return { status: "already-done" };
      }
      return undefined;
    },

    retrying(error, delivery, failure) {
      const jobId = error !== null && typeof error === "object" ? stepErrors.get(error) : undefined;
      return failed(jobId, "RETRYING", delivery, failure);
    },

    deadLettered(body, delivery, failure, reason) {
      return failed(jobIdOfBody(body), "DEAD_LETTERED", delivery, { ...failure, reason });
    },
  };
}

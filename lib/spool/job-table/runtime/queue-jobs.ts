import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ConfigurationError } from "../../runtime/env.js";
import {
  JOBS_ENV,
  type JobDelivery,
  type JobStart,
  jobTrackingConfig,
  type QueueJobs,
} from "../../runtime/job-port.js";
import { isTerminal, jobIdFor } from "../job-states.js";
import {
  getJob,
  IllegalJobTransitionError,
  type JobStore,
  reportJobProgress,
  transitionJob,
} from "./jobs.js";

/**
 * The job table behind a queue consumer's job tracking (the toolkit's job-tracking.ts decides
 * when each move happens; this makes them, with the same conditional transitions sagas use).
 * Give it to the consumer definition as `jobs`:
 *
 * ```ts
 * sqsConsumerHandler(Schema, ({ dynamo }) => ({
 *   idempotencyKey,
 *   jobs: queueJobs(documentClient(dynamo)),
 *   process,
 * }));
 * ```
 *
 * It reads the table and the job kind from the environment the QueueConsumer's `jobs` prop
 * writes, and throws at init when there is none: a handler written to track jobs must not run
 * silently untracked.
 */
export function queueJobs(db: DynamoDBDocumentClient, env = process.env): QueueJobs {
  const config = jobTrackingConfig(env);
  if (!config) {
    throw new ConfigurationError(
      `${JOBS_ENV.jobsTable} is not set: give the QueueConsumer a jobs prop (its job table)`,
    );
  }
  return queueJobsIn({ db, table: config.table }, config.kind);
}

/** The same on a given store and kind (tests, or a handler outside the construct). */
export function queueJobsIn(store: JobStore, kind: string): QueueJobs {
  const refused = (error: unknown): IllegalJobTransitionError => {
    if (error instanceof IllegalJobTransitionError) return error;
    throw error;
  };
  const identity = (delivery: JobDelivery) => ({
    messageId: delivery.messageId,
    correlationId: delivery.correlationId,
  });
  const running = (jobId: string, businessKey: string, delivery: JobDelivery) =>
    transitionJob(store, {
      jobId,
      to: "RUNNING",
      by: "consumer",
      kind,
      businessKey,
      ...identity(delivery),
      countAttempt: true,
      note: `delivery ${delivery.attempt}`,
    });

  async function start(
    jobId: string,
    businessKey: string,
    delivery: JobDelivery,
  ): Promise<JobStart> {
    try {
      await running(jobId, businessKey, delivery);
      return { outcome: "run" };
    } catch (error) {
      const from = refused(error).from;
      if (from === "CANCELED") return { outcome: "canceled" };
      // An earlier delivery died mid-step (a timeout, a crash) and left it RUNNING: this one
      // runs it again (the idempotency layer keeps two live deliveries from running at once).
      if (from === "RUNNING") return { outcome: "run" };
      if (from === "DEAD_LETTERED") {
        // A dead letter sent back (spool dlq replay): a replay reopens the job, as PENDING.
        await transitionJob(store, {
          jobId,
          to: "PENDING",
          by: "consumer",
          ...identity(delivery),
          note: "replayed from the dead-letter queue",
        }).catch(refused);
        return start(jobId, businessKey, delivery);
      }
      if (from !== "NEW" && isTerminal(from)) return { outcome: "finished", status: from };
      throw error;
    }
  }

  return {
    jobId: (businessKey) => jobIdFor(kind, businessKey),
    start,

    async succeed(jobId, delivery) {
      try {
        await transitionJob(store, {
          jobId,
          to: "SUCCEEDED",
          by: "consumer",
          ...identity(delivery),
          onlyFrom: ["RUNNING"],
        });
        return { ok: true };
      } catch (error) {
        return { ok: false, status: refused(error).from };
      }
    },

    async failed(jobId, to, delivery, failure) {
      try {
        await transitionJob(store, {
          jobId,
          to,
          by: "consumer",
          ...identity(delivery),
          error: {
            error: failure.code,
            cause: failure.message,
            ...(failure.reason ? { kind: failure.reason } : {}),
          },
          note: `delivery ${delivery.attempt}`,
        });
      } catch (error) {
        // Already CANCELED, finished, or never started: the job's own state stands.
        refused(error);
      }
    },

    reportProgress: (jobId, progress) => reportJobProgress(store, jobId, progress),

    isCanceled: async (jobId) => (await getJob(store, jobId))?.status === "CANCELED",
  };
}

/**
 * What a queue consumer's job tracking (job-tracking.ts) and the job table that serves it
 * (job-table/runtime/queue-jobs.ts) agree on: the port, and the environment the QueueConsumer's
 * `jobs` prop writes. Types and env parsing only, so the job table's copy carries no consumer.
 */
import { ConfigurationError, optionalEnv } from "./env.js";

/** The consumer's stable name (CONSUMER_ENV.consumerName): its jobs' kind unless one is set. */
export const CONSUMER_NAME_ENV = "SPOOL_CONSUMER_NAME";

/** The environment variables naming a consumer's job table and the kind of its job ids. */
export const JOBS_ENV = {
  jobsTable: "SPOOL_JOBS_TABLE",
  jobKind: "SPOOL_JOB_KIND",
} as const;

/** A job kind: the `<kind>` of `<kind>:<key>` job ids, so it holds no colon. */
export const JOB_KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Where a consumer that tracks its messages as jobs keeps them. */
export interface JobTrackingConfig {
  readonly table: string;
  /** The `<kind>` of its job ids; the consumer name unless set. */
  readonly kind: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The table, and a kind (defaulting to the consumer's name) that may not come without it.
 * Undefined: no job tracking.
 */
export function jobTrackingConfig(env: Env): JobTrackingConfig | undefined {
  const consumerNameVariable = CONSUMER_NAME_ENV;
  const { jobsTable, jobKind } = JOBS_ENV;
  const table = optionalEnv(jobsTable, env);
  const kind = optionalEnv(jobKind, env) ?? optionalEnv(consumerNameVariable, env);
  if (table === undefined) {
    if (optionalEnv(jobKind, env) !== undefined) {
      throw new ConfigurationError(`${jobKind} is set without ${jobsTable}`);
    }
    return undefined;
  }
  if (kind === undefined || !JOB_KIND_PATTERN.test(kind)) {
    throw new ConfigurationError(
      `${jobKind} (or ${consumerNameVariable}) must match ${JOB_KIND_PATTERN} to name the jobs of ${jobsTable}, got ${kind === undefined ? "nothing" : `"${kind}"`}`,
    );
  }
  return { table, kind };
}

/** A step's progress on its job, as `reportProgress` records it. */
export interface JobProgressReport {
  readonly done: number;
  readonly total: number;
  readonly note?: string;
}

/** The delivery a job move came from: recorded on the job (its `messageId`, the history's ref). */
export interface JobDelivery {
  readonly messageId: string;
  readonly correlationId: string;
  readonly attempt: number;
}

/** What a delivery found when it asked to run a message's job. */
export type JobStart =
  /** Moved to RUNNING (or found RUNNING: an earlier delivery died mid-step); run the step. */
  | { readonly outcome: "run" }
  /** CANCELED: drop the message without running the step. */
  | { readonly outcome: "canceled" }
  /** Finished already (SUCCEEDED, FAILED, …): a duplicate delivery, acknowledged as done. */
  | { readonly outcome: "finished"; readonly status: string };

/**
 * The job table as the consumer uses it (job-tracking.ts), implemented by the job-table
 * construct's runtime/queue-jobs.ts: the toolkit may not import a construct folder.
 */
export interface QueueJobs {
  /** The job id of a message with this business (idempotency) key: `<kind>:<key>`. */
  jobId(businessKey: string): string;
  start(jobId: string, businessKey: string, delivery: JobDelivery): Promise<JobStart>;
  /** SUCCEEDED; when refused, the status found instead (CANCELED: canceled while it ran). */
  succeed(
    jobId: string,
    delivery: JobDelivery,
  ): Promise<{ ok: true } | { ok: false; status: string }>;
  /** RETRYING or DEAD_LETTERED with the failure; a move the job's status refuses is a no-op. */
  failed(
    jobId: string,
    to: "RETRYING" | "DEAD_LETTERED",
    delivery: JobDelivery,
    failure: { readonly code: string; readonly message: string; readonly reason?: string },
  ): Promise<void>;
  /** Progress on a RUNNING job; false when it is not RUNNING (finished or canceled). */
  reportProgress(jobId: string, progress: JobProgressReport): Promise<boolean>;
  /** A consistent read: whether the job is CANCELED now. */
  isCanceled(jobId: string): Promise<boolean>;
}

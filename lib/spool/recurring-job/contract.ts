/**
 * What the RecurringJob construct and its runtime (the worker, backfills, the CLI) agree on.
 * SDK-free: the construct imports it at synth time.
 */

/** The most runs one backfill may cover; a longer window is refused with this number named. */
export const MAX_BACKFILL_RUNS = 1_000;

/** The `kind` of a run message. */
export const RUN_MESSAGE_KIND = "spool.recurring-run";

/** A job's name (the first part of its run keys), and the rule for a schedule's name. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** What a run does when another run of its job still holds the job's lock. */
export type OverlapPolicy = "allow" | "skip-if-running";

/** What the RecurringJob construct records about a job for its worker and for backfills. */
export interface JobDefinition {
  readonly name: string;
  /** cron(...) or rate(...). */
  readonly schedule: string;
  readonly timeZone: string;
  /** A run whose scheduled time is older than this when it starts is SKIPPED. */
  readonly maxLatenessSeconds: number;
  readonly overlap: OverlapPolicy;
  /** How long a claim (and the overlap lock) holds before a crashed run may be taken again. */
  readonly maxRunSeconds: number;
  readonly runsTable: string;
  /** The job's queue (where a backfill sends runs). */
  readonly queueArn: string;
  readonly scheduleName: string;
  readonly scheduleGroup: string;
  /** rate() jobs: the first occurrence. @default the schedule's creation time */
  readonly startDate?: string;
  /** How long run records are kept. */
  readonly retentionSeconds: number;
  readonly parameters?: Record<string, string | number | boolean>;
}

/** The worker's environment variable holding the definitions of the jobs it serves (JSON). */
export const JOBS_ENV = "SPOOL_RECURRING_JOBS";

import { transitionTable } from "../../runtime/transitions.js";
import type { RunSource } from "./run-message.js";

/**
 * The runs table: one record per run key (job, scheduled time), written with a conditional write
 * before the job's effect runs, so a second delivery of the same run finds it and does nothing.
 * Run record states:
 *
 *   (none) | QUEUED ──claim──► RUNNING ──► SUCCEEDED
 *                                  │  └──► FAILED ──redelivery──► RUNNING (attempts + 1)
 *                                  └── overlap lock held by another run ──► SKIPPED (a scheduled
 *                                      run) or back to QUEUED and sent again later (backfill, manual)
 *   a run older than the job's max lateness ──► SKIPPED (never executed)
 *
 * A RUNNING claim whose lease ran out (the worker crashed) is taken again by the redelivery, so
 * the effect should itself be idempotent by run key for crash-safety.
 */

export type RunStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED";

/** A run nobody has recorded yet: the source of its first transition. */
export const NO_RUN = "(none)" as const;

export type RunTransition =
  | "enqueue"
  | "enqueueTooLate"
  | "skipTooLate"
  | "claim"
  | "succeed"
  | "fail"
  | "skipOverlap"
  | "defer";

/** Only the claim that started this attempt may close it (a later claim took over otherwise). */
const OWN_CLAIM = { status: "RUNNING", when: "attempts = :attempt" } as const;

/**
 * Every status change of a run record, by name (the diagram above, as data). Each write below
 * takes its condition from here, so none can move a run the table does not list.
 */
export const RUN_TABLE = transitionTable<RunStatus | typeof NO_RUN, RunTransition>({
  subject: "run",
  statusAttribute: "status",
  absent: { source: NO_RUN, expression: "attribute_not_exists(pk)" },
  transitions: {
    /** A backfill records a run it is about to send. */
    enqueue: { from: [NO_RUN], to: "QUEUED" },
    /** A backfill records a run already later than the max lateness: never sent. */
    enqueueTooLate: { from: [NO_RUN], to: "SKIPPED" },
    /** A delivery later than the max lateness, for a run nobody started. */
    skipTooLate: { from: [NO_RUN, "QUEUED", "FAILED"], to: "SKIPPED" },
    /** A delivery takes the run: new, queued, failed before, or left by a worker whose lease ran out. */
    claim: {
      from: [NO_RUN, "QUEUED", "FAILED", { status: "RUNNING", when: "leaseUntil < :nowMs" }],
      to: "RUNNING",
    },
    succeed: { from: [OWN_CLAIM], to: "SUCCEEDED" },
    fail: { from: [OWN_CLAIM], to: "FAILED" },
    /** Another run of a skip-if-running job holds the lock: a scheduled run is skipped. */
    skipOverlap: { from: [OWN_CLAIM], to: "SKIPPED" },
    /** … and a backfilled or manual one hands its claim back to be sent again later. */
    defer: { from: [OWN_CLAIM], to: "QUEUED" },
  },
});

export function runKeyOf(job: string, scheduledTime: Date): string {
  return `${job}@${scheduledTime.toISOString()}`;
}

export function runItemKey(job: string, scheduledTime: Date) {
  return { pk: `job#${job}`, sk: `run#${scheduledTime.toISOString()}` };
}

/** A run record as `listRuns` returns it. */
export interface JobRun {
  readonly job: string;
  readonly runKey: string;
  readonly scheduledTime: string;
  readonly status: RunStatus;
  readonly source: RunSource;
  /** Where the scheduled time came from: the message, or the documented fallback. */
  readonly scheduledTimeSource?: "payload" | "sent-timestamp";
  /** Claims (executions started); above 1 only after a failure or a crash. */
  readonly attempts?: number;
  /** Every delivery of this run, duplicates included. */
  readonly deliveries?: number;
  readonly duplicateDeliveries?: number;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly outcome?: unknown;
  readonly error?: { readonly errorClass: string; readonly code: string; readonly message: string };
  readonly skipReason?: "too-late" | "overlap";
  readonly blockedBy?: string;
  /** Times a backfilled or manual run waited for another run of a skip-if-running job. */
  readonly deferrals?: number;
  readonly correlationId?: string;
}

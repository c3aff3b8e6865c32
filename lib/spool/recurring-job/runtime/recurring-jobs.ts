/**
 * Recurring jobs, handler side: what a worker, a backfill and the CLI import. Every run has a run
 * key (job, scheduled time), recorded in the runs table with a conditional write before the job's
 * effect runs; a second delivery of the same run (a Scheduler retry, a redeploy, a flexible
 * window, a backfill overlapping live runs) finds the record and does nothing.
 *
 * The parts, one file each:
 * - run-message.ts: the run message and the worker's job definitions;
 * - scheduled-time.ts: a run's scheduled time (from the message, or the documented fallback);
 * - run-states.ts: run keys, the run record and its transition table (`RUN_TABLE`);
 * - run-store.ts: the record's writes, each a named transition; run-lock.ts: the overlap lock;
 * - run-recurring-job.ts: one delivery, step by step (`runRecurringJob`);
 * - backfill.ts: `backfillRuns`; run-history.ts: `listRuns`.
 */

export type { JobDefinition, OverlapPolicy } from "../contract.js";
export {
  type BackfillDependencies,
  type BackfillOptions,
  type BackfillReport,
  backfillRuns,
  MAX_BACKFILL_RUNS,
} from "./backfill.js";
export { listRuns } from "./run-history.js";
export { lockItemKey } from "./run-lock.js";
export {
  jobDefinitionsFromEnv,
  RunMessage,
  type RunSource,
  SCHEDULED_TIME_PLACEHOLDER,
} from "./run-message.js";
export {
  deferDelaySeconds,
  type RunContext,
  type RunDependencies,
  type RunOutcome,
  runRecurringJob,
} from "./run-recurring-job.js";
export {
  type JobRun,
  NO_RUN,
  RUN_TABLE,
  type RunStatus,
  type RunTransition,
  runItemKey,
  runKeyOf,
} from "./run-states.js";
export { resolveScheduledTime, scheduleAnchor } from "./scheduled-time.js";

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { classify, TransientError } from "../../runtime/errors.js";
import type { JobDefinition } from "../contract.js";
import { acquireRunLock, releaseRunLock } from "./run-lock.js";
import type { RunMessage, RunSource } from "./run-message.js";
import type { RunStatus } from "./run-states.js";
import {
  claimRun,
  countDuplicateDelivery,
  type Delivery,
  deferRun,
  type RunRecord,
  recordFailure,
  recordOverlapSkip,
  recordSuccess,
  recordTooLate,
  runRecord,
} from "./run-store.js";
import { type AnchorOf, resolveScheduledTime } from "./scheduled-time.js";

/**
 * One delivery of a recurring job's run, step by step: resolve its run key, refuse it when too
 * late, claim it, take the overlap lock when the job asks for one, run the effect, record the
 * outcome. Each step that writes is a named transition of the run record (run-states.ts).
 */

export interface RunContext {
  readonly job: string;
  readonly runKey: string;
  readonly scheduledTime: Date;
  /** 1 for the first execution of this run. */
  readonly attempt: number;
  readonly source: RunSource;
  readonly parameters: Record<string, string | number | boolean>;
  readonly correlationId: string;
}

export type RunOutcome<R> =
  | { readonly status: "succeeded"; readonly runKey: string; readonly result: R }
  | {
      readonly status: "skipped";
      readonly runKey: string;
      readonly reason: "too-late" | "overlap";
      readonly blockedBy?: string;
    }
  | { readonly status: "duplicate"; readonly runKey: string; readonly existingStatus: RunStatus }
  | {
      readonly status: "deferred";
      readonly runKey: string;
      readonly blockedBy: string;
      readonly retryInSeconds: number;
    };

export interface RunDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly now: () => Date;
  /** rate() jobs: the schedule's first occurrence, for the sent-timestamp fallback. */
  readonly anchorOf: AnchorOf;
  /**
   * Sends this run's message again after `delaySeconds`: how a backfilled or manual run of a
   * skip-if-running job waits for the running one.
   * @default - none: the run throws a TransientError and the queue redelivers it
   */
  readonly requeue?: (delaySeconds: number) => Promise<void>;
  readonly random?: () => number;
}

/** Full jitter over a doubling ceiling (2 s, 4 s, … at most 60 s), at least 1 s. */
export function deferDelaySeconds(deferrals: number, random: () => number): number {
  const ceiling = Math.min(60, 2 ** Math.max(1, deferrals));
  return 1 + Math.floor(random() * ceiling);
}

const MAX_OUTCOME_CHARS = 4_000;

/** The effect's result as recorded: a long one is cut, so the record stays far below 400 KB. */
function boundedOutcome(result: unknown): unknown {
  if (result === undefined) return null;
  const text = JSON.stringify(result);
  return text !== undefined && text.length > MAX_OUTCOME_CHARS
    ? { truncated: `${text.slice(0, MAX_OUTCOME_CHARS - 1)}…` }
    : result;
}

interface Meta {
  readonly sentAt: Date;
  readonly correlationId: string;
}

/**
 * Runs one delivery of a recurring job's run: resolves its run key, refuses it when too late,
 * claims it with a conditional write, takes the overlap lock when the job asks for one, runs
 * `effect`, records the outcome. A duplicate delivery returns `duplicate` without running anything.
 * An error from `effect` is recorded (FAILED) and rethrown, so the queue's retry policy applies.
 */
export async function runRecurringJob<R>(
  message: RunMessage,
  meta: Meta,
  job: JobDefinition,
  deps: RunDependencies,
  effect: (run: RunContext) => Promise<R>,
): Promise<RunOutcome<R>> {
  const { run, delivery } = await openRun(message, meta, job, deps);
  const maxLateness = message.maxLatenessSeconds ?? job.maxLatenessSeconds;
  if (delivery.now.getTime() - run.scheduledTime.getTime() > maxLateness * 1000) {
    return skipTooLate(run, delivery, deps);
  }
  const leaseUntil = delivery.now.getTime() + job.maxRunSeconds * 1000;
  const claim = await claimRun(run, delivery, leaseUntil);
  if (!claim.written) return duplicateDelivery(run, claim.existing, deps);
  const exclusive = job.overlap === "skip-if-running";
  if (exclusive) {
    const lock = await acquireRunLock(run, leaseUntil, delivery.now);
    if (!lock.acquired) return giveWay(run, claim.attempt, lock.blockedBy, message.source, deps);
  }
  const context: RunContext = {
    job: job.name,
    runKey: run.runKey,
    scheduledTime: run.scheduledTime,
    attempt: claim.attempt,
    source: message.source,
    parameters: { ...job.parameters, ...message.parameters },
    correlationId: meta.correlationId,
  };
  return execute(run, context, { locked: exclusive }, deps, effect);
}

/** Step 1: the run this delivery is for (its scheduled time resolved) and what it records. */
async function openRun(
  message: RunMessage,
  meta: Meta,
  job: JobDefinition,
  deps: RunDependencies,
): Promise<{ run: RunRecord; delivery: Delivery }> {
  const resolved = await resolveScheduledTime(message, meta.sentAt, job, deps);
  const run = runRecord(deps.db, job, resolved.time);
  const delivery: Delivery = {
    source: message.source,
    scheduledTimeSource: resolved.source,
    correlationId: meta.correlationId,
    now: deps.now(),
  };
  return { run, delivery };
}

/** Too late to be useful: recorded SKIPPED, never executed (unless someone recorded it first). */
async function skipTooLate(
  run: RunRecord,
  delivery: Delivery,
  deps: RunDependencies,
): Promise<RunOutcome<never>> {
  const recorded = await recordTooLate(run, delivery);
  if (!recorded.written) return duplicateDelivery(run, recorded.existing, deps);
  return { status: "skipped", runKey: run.runKey, reason: "too-late" };
}

/** The run is recorded already: count this delivery and run nothing, unless it is still held. */
async function duplicateDelivery(
  run: RunRecord,
  existing: Record<string, unknown> | undefined,
  deps: RunDependencies,
): Promise<RunOutcome<never>> {
  const leaseUntil = Number(existing?.leaseUntil);
  if (existing?.status === "RUNNING" && leaseUntil >= deps.now().getTime()) {
    // Another delivery holds the run. If it dies, this message is the only one left to finish
    // the run: keep it on the queue until the lease ends instead of acknowledging it.
    throw new TransientError(`run ${run.runKey} is in progress`, {
      code: "RUN_IN_PROGRESS",
      details: {
        runKey: run.runKey,
        retryAfterSeconds: Math.ceil((leaseUntil - deps.now().getTime()) / 1000),
      },
    });
  }
  await countDuplicateDelivery(run, deps.now());
  return { status: "duplicate", runKey: run.runKey, existingStatus: existing?.status as RunStatus };
}

/**
 * Another run of a skip-if-running job holds the lock. A scheduled run is skipped; a run an
 * operator asked for (backfill, manual) waits instead: it hands its claim back and is delivered
 * again later.
 */
async function giveWay(
  run: RunRecord,
  attempt: number,
  blockedBy: string,
  source: RunSource,
  deps: RunDependencies,
): Promise<RunOutcome<never>> {
  if (source === "schedule") {
    await recordOverlapSkip(run, attempt, blockedBy, deps.now());
    return { status: "skipped", runKey: run.runKey, reason: "overlap", blockedBy };
  }
  const deferrals = await deferRun(run, attempt);
  if (deps.requeue) {
    // A fresh message, not a redelivery: a backfill of many runs of an exclusive job would
    // otherwise spend the queue's receive count waiting and end in the DLQ.
    const retryInSeconds = deferDelaySeconds(deferrals, deps.random ?? Math.random);
    await deps.requeue(retryInSeconds);
    return { status: "deferred", runKey: run.runKey, blockedBy, retryInSeconds };
  }
  throw new TransientError(
    `job ${run.job.name} is running ${blockedBy}; ${run.runKey} waits for it`,
    {
      code: "JOB_RUNNING",
      details: { runKey: run.runKey, blockedBy },
    },
  );
}

/** The claimed run's effect, then its outcome recorded and the lock (if taken) released. */
async function execute<R>(
  run: RunRecord,
  context: RunContext,
  options: { readonly locked: boolean },
  deps: RunDependencies,
  effect: (run: RunContext) => Promise<R>,
): Promise<RunOutcome<R>> {
  let result: R;
  try {
    result = await effect(context);
  } catch (error) {
    const failure = classify(error);
    const recorded = {
      errorClass: failure.errorClass,
      code: failure.code,
      message: failure.message,
    };
    // The effect's error is what the queue must see; a failed bookkeeping write must not hide it.
    await recordFailure(run, context.attempt, recorded, deps.now()).catch(() => undefined);
    if (options.locked) await releaseRunLock(run).catch(() => undefined);
    throw error;
  }
  await recordSuccess(run, context.attempt, boundedOutcome(result), deps.now());
  if (options.locked) await releaseRunLock(run);
  return { status: "succeeded", runKey: run.runKey, result };
}

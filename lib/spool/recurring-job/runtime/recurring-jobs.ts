import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod";
import { newCorrelationId } from "../../runtime/correlation.js";
import { jsonEnv } from "../../runtime/env.js";
import { classify, PermanentError, TransientError } from "../../runtime/errors.js";
import { spoolMessage } from "../../runtime/producer.js";
import { queueUrlFromArn } from "../../runtime/retry-delays.js";
import { transitionTable } from "../../runtime/transitions.js";
import {
  JOB_NAME_PATTERN,
  JOBS_ENV,
  type JobDefinition,
  type OverlapPolicy,
  RUN_MESSAGE_KIND,
} from "../contract.js";
import {
  latestOccurrenceAtOrBefore,
  occurrencesBetween,
  parseRecurringExpression,
} from "../schedule-expression.js";

export type { JobDefinition, OverlapPolicy };

/**
 * Recurring jobs: every run has a run key (job, scheduled time), recorded in the runs table with a
 * conditional write before the job's effect runs. A second delivery of the same run (a Scheduler
 * retry, a redeploy, a flexible window, a backfill overlapping live runs) finds the record and does
 * nothing. Run record states:
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

/** What the Scheduler puts where it does not substitute its context attributes. */
export const SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>";

export type RunStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED";
export type RunSource = "schedule" | "backfill" | "manual";

/** A run nobody has recorded yet: the source of its first transition. */
export const NO_RUN = "(none)" as const;

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
export type RunTransition =
  | "enqueue"
  | "enqueueTooLate"
  | "skipTooLate"
  | "claim"
  | "succeed"
  | "fail"
  | "skipOverlap"
  | "defer";

const Parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** The message a recurring job's queue receives (from its schedule, a backfill or by hand). */
export const RunMessage = z.object({
  kind: z.literal(RUN_MESSAGE_KIND),
  schemaVersion: z.literal(1),
  job: z.string().regex(JOB_NAME_PATTERN, "job: 1–64 letters, digits, _ . -"),
  /** ISO 8601; the Scheduler's `<aws.scheduler.scheduled-time>`. */
  scheduledTime: z.string().min(1).max(64),
  source: z.enum(["schedule", "backfill", "manual"]),
  executionId: z.string().max(256).optional(),
  /** Overrides the job's max lateness for this run (a backfill an operator asked for). */
  maxLatenessSeconds: z.number().int().positive().optional(),
  parameters: Parameters.optional(),
  correlationId: z.string().max(128).optional(),
});
export type RunMessage = z.infer<typeof RunMessage>;

export function jobDefinitionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, JobDefinition> {
  return jsonEnv<Record<string, JobDefinition>>(JOBS_ENV, "RecurringJob.bindWorker", env);
}

export function runKeyOf(job: string, scheduledTime: Date): string {
  return `${job}@${scheduledTime.toISOString()}`;
}

export function runItemKey(job: string, scheduledTime: Date) {
  return { pk: `job#${job}`, sk: `run#${scheduledTime.toISOString()}` };
}

export function lockItemKey(job: string) {
  return { pk: `job#${job}`, sk: "lock" };
}

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

/** Full jitter over a doubling ceiling (2 s, 4 s, … at most 60 s), at least 1 s. */
export function deferDelaySeconds(deferrals: number, random: () => number): number {
  const ceiling = Math.min(60, 2 ** Math.max(1, deferrals));
  return 1 + Math.floor(random() * ceiling);
}

export interface RunDependencies {
  readonly db: DynamoDBDocumentClient;
  readonly now: () => Date;
  /** rate() jobs: the schedule's first occurrence, for the sent-timestamp fallback. */
  readonly anchorOf: (job: JobDefinition) => Promise<Date | undefined>;
  /**
   * Sends this run's message again after `delaySeconds`: how a backfilled or manual run of a
   * skip-if-running job waits for the running one.
   * @default - none: the run throws a TransientError and the queue redelivers it
   */
  readonly requeue?: (delaySeconds: number) => Promise<void>;
  readonly random?: () => number;
}

/** The first occurrence of a rate() schedule: its start date, else its creation time. */
export async function scheduleAnchor(
  scheduler: SchedulerClient,
  job: JobDefinition,
): Promise<Date | undefined> {
  if (job.startDate) return new Date(job.startDate);
  const schedule = await scheduler.send(
    new GetScheduleCommand({ Name: job.scheduleName, GroupName: job.scheduleGroup }),
  );
  return schedule.StartDate ?? schedule.CreationDate;
}

/**
 * The run's scheduled time: the message's, or, when the Scheduler left its placeholder
 * unsubstituted (MiniStack does), the latest occurrence of the job's schedule at or before the
 * time the message was sent. The fallback is exact for cron schedules delivered less than one
 * period late, which is what a scheduler that fires on time produces.
 */
export async function resolveScheduledTime(
  message: Pick<RunMessage, "scheduledTime" | "job">,
  sentAt: Date,
  job: JobDefinition,
  deps: Pick<RunDependencies, "anchorOf">,
): Promise<{ time: Date; source: "payload" | "sent-timestamp" }> {
  if (message.scheduledTime !== SCHEDULED_TIME_PLACEHOLDER) {
    const time = new Date(message.scheduledTime);
    if (Number.isNaN(time.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(message.scheduledTime)) {
      throw new PermanentError(
        `scheduledTime must be an ISO 8601 time, got ${message.scheduledTime}`,
        { code: "RUN_TIME_INVALID", details: { job: message.job } },
      );
    }
    return { time, source: "payload" };
  }
  const expression = parseRecurringExpression(job.schedule);
  const anchor = expression.kind === "rate" ? await deps.anchorOf(job) : undefined;
  const time = latestOccurrenceAtOrBefore(expression, sentAt, {
    timeZone: job.timeZone,
    ...(anchor ? { anchor } : {}),
  });
  if (!time) {
    throw new PermanentError(
      `job ${job.name} has no occurrence of ${job.schedule} at or before ${sentAt.toISOString()}`,
      { code: "RUN_TIME_UNRESOLVED", details: { job: job.name } },
    );
  }
  return { time, source: "sent-timestamp" };
}

function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

async function oldItem(
  error: ConditionalCheckFailedException,
  db: DynamoDBDocumentClient,
  table: string,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  if (error.Item) return unmarshall(error.Item);
  return (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

/**
 * When a run record may be removed by TTL: its retention counted from when it was written, not
 * from its scheduled time, or a backfilled run of long ago would expire at once and a second
 * backfill would run it again.
 */
function expiresAt(scheduledTime: Date, now: Date, job: JobDefinition): number {
  return Math.floor(Math.max(scheduledTime.getTime(), now.getTime()) / 1000) + job.retentionSeconds;
}

const MAX_OUTCOME_CHARS = 4_000;

function boundedOutcome(result: unknown): unknown {
  if (result === undefined) return null;
  const text = JSON.stringify(result);
  return text !== undefined && text.length > MAX_OUTCOME_CHARS
    ? { truncated: `${text.slice(0, MAX_OUTCOME_CHARS - 1)}…` }
    : result;
}

/**
 * Runs one delivery of a recurring job's run: resolves its run key, refuses it when too late,
 * claims it with a conditional write, takes the overlap lock when the job asks for one, runs
 * `effect`, records the outcome. A duplicate delivery returns `duplicate` without running anything.
 * An error from `effect` is recorded (FAILED) and rethrown, so the queue's retry policy applies.
 */
export async function runRecurringJob<R>(
  message: RunMessage,
  meta: { readonly sentAt: Date; readonly correlationId: string },
  job: JobDefinition,
  deps: RunDependencies,
  effect: (run: RunContext) => Promise<R>,
): Promise<RunOutcome<R>> {
  const { db } = deps;
  const table = job.runsTable;
  const resolved = await resolveScheduledTime(message, meta.sentAt, job, deps);
  const scheduledTime = resolved.time;
  const key = runItemKey(job.name, scheduledTime);
  const runKey = runKeyOf(job.name, scheduledTime);
  const now = deps.now();
  const maxLateness = message.maxLatenessSeconds ?? job.maxLatenessSeconds;
  const common = {
    ":job": job.name,
    ":runKey": runKey,
    ":scheduledTime": scheduledTime.toISOString(),
    ":source": message.source,
    ":timeSource": resolved.source,
    ":correlationId": meta.correlationId,
    ":expiresAt": expiresAt(scheduledTime, now, job),
    ":now": now.toISOString(),
    ":one": 1,
  };
  const setCommon =
    "job = :job, runKey = :runKey, scheduledTime = :scheduledTime, " +
    "#source = if_not_exists(#source, :source), scheduledTimeSource = :timeSource, " +
    "correlationId = if_not_exists(correlationId, :correlationId), expiresAt = :expiresAt";

  const duplicate = async (error: ConditionalCheckFailedException): Promise<RunOutcome<R>> => {
    const existing = await oldItem(error, db, table, key);
    const leaseUntil = Number(existing?.leaseUntil);
    if (existing?.status === "RUNNING" && leaseUntil >= deps.now().getTime()) {
      // Another delivery holds the run. If it dies, this message is the only one left to finish
      // the run: keep it on the queue until the lease ends instead of acknowledging it.
      throw new TransientError(`run ${runKey} is in progress`, {
        code: "RUN_IN_PROGRESS",
        details: {
          runKey,
          retryAfterSeconds: Math.ceil((leaseUntil - deps.now().getTime()) / 1000),
        },
      });
    }
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression:
          "SET lastDuplicateAt = :now ADD deliveries :one, duplicateDeliveries :one",
        ExpressionAttributeValues: { ":now": deps.now().toISOString(), ":one": 1 },
      }),
    );
    return { status: "duplicate", runKey, existingStatus: existing?.status as RunStatus };
  };

  if (now.getTime() - scheduledTime.getTime() > maxLateness * 1000) {
    const skip = RUN_TABLE.update("skipTooLate");
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: `SET ${setCommon}, ${skip.setStatus}, skipReason = :reason, finishedAt = :now ADD deliveries :one`,
          ConditionExpression: skip.conditionExpression,
          ExpressionAttributeNames: { ...skip.names, "#source": "source" },
          ExpressionAttributeValues: { ...common, ...skip.values, ":reason": "too-late" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { status: "skipped", runKey, reason: "too-late" };
    } catch (error) {
      if (isConditionFailure(error)) return duplicate(error);
      throw error;
    }
  }

  const leaseUntil = now.getTime() + job.maxRunSeconds * 1000;
  let attempt: number;
  const claim = RUN_TABLE.update("claim", { values: { ":nowMs": now.getTime() } });
  try {
    const claimed = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression:
          `SET ${setCommon}, ${claim.setStatus}, startedAt = :now, leaseUntil = :lease ` +
          "REMOVE finishedAt, outcome, #error, skipReason, blockedBy ADD attempts :one, deliveries :one",
        ConditionExpression: claim.conditionExpression,
        ExpressionAttributeNames: { ...claim.names, "#source": "source", "#error": "error" },
        ExpressionAttributeValues: { ...common, ...claim.values, ":lease": leaseUntil },
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    attempt = Number(claimed.Attributes?.attempts ?? 1);
  } catch (error) {
    if (isConditionFailure(error)) return duplicate(error);
    throw error;
  }

  const finish = (
    transition: "succeed" | "fail" | "skipOverlap",
    fields: string,
    values: Record<string, unknown>,
    names = {},
  ) => {
    const close = RUN_TABLE.update(transition, { values: { ":attempt": attempt } });
    return db.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: `SET ${close.setStatus}, ${fields}, finishedAt = :finished REMOVE leaseUntil`,
        ConditionExpression: close.conditionExpression,
        ExpressionAttributeNames: { ...close.names, ...names },
        ExpressionAttributeValues: {
          ...close.values,
          ":finished": deps.now().toISOString(),
          ...values,
        },
      }),
    );
  };

  let locked = false;
  if (job.overlap === "skip-if-running") {
    try {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { ...lockItemKey(job.name), runKey, leaseUntil, acquiredAt: now.toISOString() },
          ConditionExpression:
            "attribute_not_exists(pk) OR leaseUntil < :nowMs OR runKey = :runKey",
          ExpressionAttributeValues: { ":nowMs": now.getTime(), ":runKey": runKey },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      locked = true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const holder = await oldItem(error, db, table, lockItemKey(job.name));
      const blockedBy = String(holder?.runKey ?? "unknown");
      if (message.source !== "schedule") {
        // A run an operator asked for (backfill, manual) waits for the running one instead of
        // being skipped: hand the claim back, then have it delivered again later.
        const defer = RUN_TABLE.update("defer", { values: { ":attempt": attempt } });
        const reverted = await db.send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: `SET ${defer.setStatus} REMOVE leaseUntil, startedAt ADD attempts :minusOne, deferrals :one`,
            ConditionExpression: defer.conditionExpression,
            ExpressionAttributeNames: defer.names,
            ExpressionAttributeValues: { ...defer.values, ":minusOne": -1, ":one": 1 },
            ReturnValues: "ALL_NEW",
          }),
        );
        if (deps.requeue) {
          // A fresh message, not a redelivery: a backfill of many runs of an exclusive job would
          // otherwise spend the queue's receive count waiting and end in the DLQ.
          const deferrals = Number(reverted.Attributes?.deferrals ?? 1);
          const retryInSeconds = deferDelaySeconds(deferrals, deps.random ?? Math.random);
          await deps.requeue(retryInSeconds);
          return { status: "deferred", runKey, blockedBy, retryInSeconds };
        }
        throw new TransientError(
          `job ${job.name} is running ${blockedBy}; ${runKey} waits for it`,
          {
            code: "JOB_RUNNING",
            details: { runKey, blockedBy },
          },
        );
      }
      await finish("skipOverlap", "skipReason = :reason, blockedBy = :blockedBy", {
        ":reason": "overlap",
        ":blockedBy": blockedBy,
      });
      return { status: "skipped", runKey, reason: "overlap", blockedBy };
    }
  }

  const releaseLock = async () => {
    if (!locked) return;
    try {
      await db.send(
        new DeleteCommand({
          TableName: table,
          Key: lockItemKey(job.name),
          ConditionExpression: "runKey = :runKey",
          ExpressionAttributeValues: { ":runKey": runKey },
        }),
      );
    } catch (error) {
      // Taken over after our lease ran out: it is not ours to release any more.
      if (!isConditionFailure(error)) throw error;
    }
  };

  let result: R;
  try {
    result = await effect({
      job: job.name,
      runKey,
      scheduledTime,
      attempt,
      source: message.source,
      parameters: { ...job.parameters, ...message.parameters },
      correlationId: meta.correlationId,
    });
  } catch (error) {
    const failure = classify(error);
    await finish(
      "fail",
      "#error = :error",
      {
        ":error": { errorClass: failure.errorClass, code: failure.code, message: failure.message },
      },
      { "#error": "error" },
    ).catch(() => undefined);
    await releaseLock().catch(() => undefined);
    throw error;
  }
  await finish("succeed", "outcome = :outcome", { ":outcome": boundedOutcome(result) });
  await releaseLock();
  return { status: "succeeded", runKey, result };
}

/** A job's runs, newest first, optionally within [from, to). */
export async function listRuns(
  db: DynamoDBDocumentClient,
  table: string,
  job: string,
  options: { from?: Date; to?: Date; limit?: number } = {},
): Promise<JobRun[]> {
  const from = `run#${(options.from ?? new Date(0)).toISOString()}`;
  const to = `run#${(options.to ?? new Date("9999-12-31T00:00:00Z")).toISOString()}`;
  const runs: JobRun[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": `job#${job}`, ":from": from, ":to": to },
        ScanIndexForward: false,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        ...(options.limit ? { Limit: options.limit - runs.length } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      // BETWEEN is inclusive; the window is half-open.
      if (item.sk === to) continue;
      const { pk: _pk, sk: _sk, leaseUntil: _lease, expiresAt: _exp, ...run } = item;
      runs.push(run as JobRun);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey && (!options.limit || runs.length < options.limit));
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Backfill

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

/** The most runs one backfill may cover; a longer window is refused with this number named. */
export const MAX_BACKFILL_RUNS = 1_000;

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
    const key = runItemKey(job.name, time);
    const tooLate = now.getTime() - time.getTime() > maxLateness * 1000;
    if (options.dryRun) {
      const existing = (
        await deps.db.send(
          new GetCommand({ TableName: job.runsTable, Key: key, ConsistentRead: true }),
        )
      ).Item;
      if (existing)
        report.alreadyRecorded.push({ scheduledTime: time.toISOString(), status: existing.status });
      else (tooLate ? report.skippedTooLate : report.enqueued).push(time.toISOString());
      continue;
    }
    const transition = tooLate ? "enqueueTooLate" : "enqueue";
    try {
      await deps.db.send(
        new PutCommand({
          TableName: job.runsTable,
          Item: {
            ...key,
            job: job.name,
            runKey: runKeyOf(job.name, time),
            scheduledTime: time.toISOString(),
            source: "backfill",
            scheduledTimeSource: "payload",
            correlationId,
            expiresAt: expiresAt(time, now, job),
            status: RUN_TABLE.transitions[transition].to,
            ...(tooLate
              ? { skipReason: "too-late", finishedAt: now.toISOString() }
              : { queuedAt: now.toISOString() }),
          },
          // Creates the record: the condition tests absence only, so it names no attribute.
          ConditionExpression: RUN_TABLE.condition(transition).expression,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      if (tooLate) report.skippedTooLate.push(time.toISOString());
      else {
        report.enqueued.push(time.toISOString());
        toSend.push(time);
      }
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await oldItem(error, deps.db, job.runsTable, key);
      const status = existing?.status as RunStatus;
      if (status === "QUEUED") {
        report.requeued.push(time.toISOString());
        toSend.push(time);
      } else {
        report.alreadyRecorded.push({ scheduledTime: time.toISOString(), status });
      }
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

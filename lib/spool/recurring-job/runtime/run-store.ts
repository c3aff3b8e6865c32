import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { JobDefinition } from "../contract.js";
import type { RunSource } from "./run-message.js";
import { type JobRun, RUN_TABLE, runItemKey, runKeyOf } from "./run-states.js";

/**
 * The writes of a run record, each a named transition of RUN_TABLE (run-states.ts). A write the
 * record's status refuses answers with the record it found, for the caller to decide (a duplicate
 * delivery, a run already backfilled); only an unexpected failure throws.
 */

/** One run's record: where it lives and its key. */
export interface RunRecord {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly job: JobDefinition;
  readonly scheduledTime: Date;
  readonly runKey: string;
  readonly key: { readonly pk: string; readonly sk: string };
}

export function runRecord(
  db: DynamoDBDocumentClient,
  job: JobDefinition,
  scheduledTime: Date,
): RunRecord {
  return {
    db,
    table: job.runsTable,
    job,
    scheduledTime,
    runKey: runKeyOf(job.name, scheduledTime),
    key: runItemKey(job.name, scheduledTime),
  };
}

/**
 * When a run record may be removed by TTL: its retention counted from when it was written, not
 * from its scheduled time, or a backfilled run of long ago would expire at once and a second
 * backfill would run it again.
 */
export function expiresAt(scheduledTime: Date, now: Date, job: JobDefinition): number {
  return Math.floor(Math.max(scheduledTime.getTime(), now.getTime()) / 1000) + job.retentionSeconds;
}

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

/** The item a refused write found: returned with the refusal, else read (consistently). */
export async function oldItem(
  error: ConditionalCheckFailedException,
  db: DynamoDBDocumentClient,
  table: string,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  if (error.Item) return unmarshall(error.Item);
  return (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

/** A write the record's status refused, with the record it found (undefined if it vanished). */
export interface Refused {
  readonly written: false;
  readonly existing: Record<string, unknown> | undefined;
}

/** What a delivery writes on the record whether it runs the job or skips it. */
export interface Delivery {
  readonly source: RunSource;
  readonly scheduledTimeSource: "payload" | "sent-timestamp";
  readonly correlationId: string;
  readonly now: Date;
}

const SET_DELIVERY =
  "job = :job, runKey = :runKey, scheduledTime = :scheduledTime, " +
  "#source = if_not_exists(#source, :source), scheduledTimeSource = :timeSource, " +
  "correlationId = if_not_exists(correlationId, :correlationId), expiresAt = :expiresAt";

function deliveryValues(run: RunRecord, delivery: Delivery) {
  return {
    ":job": run.job.name,
    ":runKey": run.runKey,
    ":scheduledTime": run.scheduledTime.toISOString(),
    ":source": delivery.source,
    ":timeSource": delivery.scheduledTimeSource,
    ":correlationId": delivery.correlationId,
    ":expiresAt": expiresAt(run.scheduledTime, delivery.now, run.job),
    ":now": delivery.now.toISOString(),
    ":one": 1,
  };
}

/** Sends a write that a refused condition answers with the record found instead of an error. */
async function unlessRefused<T>(run: RunRecord, write: () => Promise<T>): Promise<T | Refused> {
  try {
    return await write();
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { written: false, existing: await oldItem(error, run.db, run.table, run.key) };
  }
}

/** Records a delivery later than the max lateness as SKIPPED (`skipTooLate`). */
export function recordTooLate(
  run: RunRecord,
  delivery: Delivery,
): Promise<{ readonly written: true } | Refused> {
  const skip = RUN_TABLE.update("skipTooLate");
  return unlessRefused(run, async () => {
    await run.db.send(
      new UpdateCommand({
        TableName: run.table,
        Key: run.key,
        UpdateExpression: `SET ${SET_DELIVERY}, ${skip.setStatus}, skipReason = :reason, finishedAt = :now ADD deliveries :one`,
        ConditionExpression: skip.conditionExpression,
        ExpressionAttributeNames: { ...skip.names, "#source": "source" },
        ExpressionAttributeValues: {
          ...deliveryValues(run, delivery),
          ...skip.values,
          ":reason": "too-late",
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { written: true } as const;
  });
}

/**
 * Claims the run for this delivery (`claim`) until `leaseUntil` (epoch ms), clearing what an
 * earlier attempt left; the claim's attempt number is what closes it later.
 */
export function claimRun(
  run: RunRecord,
  delivery: Delivery,
  leaseUntil: number,
): Promise<{ readonly written: true; readonly attempt: number } | Refused> {
  const claim = RUN_TABLE.update("claim", { values: { ":nowMs": delivery.now.getTime() } });
  return unlessRefused(run, async () => {
    const claimed = await run.db.send(
      new UpdateCommand({
        TableName: run.table,
        Key: run.key,
        UpdateExpression:
          `SET ${SET_DELIVERY}, ${claim.setStatus}, startedAt = :now, leaseUntil = :lease ` +
          "REMOVE finishedAt, outcome, #error, skipReason, blockedBy ADD attempts :one, deliveries :one",
        ConditionExpression: claim.conditionExpression,
        ExpressionAttributeNames: { ...claim.names, "#source": "source", "#error": "error" },
        ExpressionAttributeValues: {
          ...deliveryValues(run, delivery),
          ...claim.values,
          ":lease": leaseUntil,
        },
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { written: true, attempt: Number(claimed.Attributes?.attempts ?? 1) } as const;
  });
}

/** Counts a delivery of a run already recorded: no status changes. */
export async function countDuplicateDelivery(run: RunRecord, now: Date): Promise<void> {
  await run.db.send(
    new UpdateCommand({
      TableName: run.table,
      Key: run.key,
      UpdateExpression: "SET lastDuplicateAt = :now ADD deliveries :one, duplicateDeliveries :one",
      ExpressionAttributeValues: { ":now": now.toISOString(), ":one": 1 },
    }),
  );
}

/** Ends the attempt `attempt` claimed, with the fields the ending writes (`SET` clauses). */
async function closeRun(
  run: RunRecord,
  attempt: number,
  transition: "succeed" | "fail" | "skipOverlap",
  fields: { set: string; values: Record<string, unknown>; names?: Record<string, string> },
  now: Date,
): Promise<void> {
  const close = RUN_TABLE.update(transition, { values: { ":attempt": attempt } });
  await run.db.send(
    new UpdateCommand({
      TableName: run.table,
      Key: run.key,
      UpdateExpression: `SET ${close.setStatus}, ${fields.set}, finishedAt = :finished REMOVE leaseUntil`,
      ConditionExpression: close.conditionExpression,
      ExpressionAttributeNames: { ...close.names, ...fields.names },
      ExpressionAttributeValues: {
        ...close.values,
        ":finished": now.toISOString(),
        ...fields.values,
      },
    }),
  );
}

export function recordSuccess(
  run: RunRecord,
  attempt: number,
  outcome: unknown,
  now: Date,
): Promise<void> {
  return closeRun(
    run,
    attempt,
    "succeed",
    { set: "outcome = :outcome", values: { ":outcome": outcome } },
    now,
  );
}

export function recordFailure(
  run: RunRecord,
  attempt: number,
  error: NonNullable<JobRun["error"]>,
  now: Date,
): Promise<void> {
  return closeRun(
    run,
    attempt,
    "fail",
    { set: "#error = :error", values: { ":error": error }, names: { "#error": "error" } },
    now,
  );
}

export function recordOverlapSkip(
  run: RunRecord,
  attempt: number,
  blockedBy: string,
  now: Date,
): Promise<void> {
  return closeRun(
    run,
    attempt,
    "skipOverlap",
    {
      set: "skipReason = :reason, blockedBy = :blockedBy",
      values: { ":reason": "overlap", ":blockedBy": blockedBy },
    },
    now,
  );
}

/**
 * Hands the claim back (`defer`): the run is QUEUED again, the attempt it did not make is not
 * counted, and its deferrals are. Returns how many times the run has now waited.
 */
export async function deferRun(run: RunRecord, attempt: number): Promise<number> {
  const defer = RUN_TABLE.update("defer", { values: { ":attempt": attempt } });
  const reverted = await run.db.send(
    new UpdateCommand({
      TableName: run.table,
      Key: run.key,
      UpdateExpression: `SET ${defer.setStatus} REMOVE leaseUntil, startedAt ADD attempts :minusOne, deferrals :one`,
      ConditionExpression: defer.conditionExpression,
      ExpressionAttributeNames: defer.names,
      ExpressionAttributeValues: { ...defer.values, ":minusOne": -1, ":one": 1 },
      ReturnValues: "ALL_NEW",
    }),
  );
  return Number(reverted.Attributes?.deferrals ?? 1);
}

/**
 * Records a run a backfill found: QUEUED to be sent (`enqueue`), or SKIPPED when it is already
 * later than the max lateness (`enqueueTooLate`). Refused when the run is recorded already.
 */
export function recordBackfilledRun(
  run: RunRecord,
  options: { readonly tooLate: boolean; readonly correlationId: string; readonly now: Date },
): Promise<{ readonly written: true } | Refused> {
  const { tooLate, now } = options;
  const transition = tooLate ? "enqueueTooLate" : "enqueue";
  return unlessRefused(run, async () => {
    await run.db.send(
      new PutCommand({
        TableName: run.table,
        Item: {
          ...run.key,
          job: run.job.name,
          runKey: run.runKey,
          scheduledTime: run.scheduledTime.toISOString(),
          source: "backfill",
          scheduledTimeSource: "payload",
          correlationId: options.correlationId,
          expiresAt: expiresAt(run.scheduledTime, now, run.job),
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
    return { written: true } as const;
  });
}

/** The run's record as last written (a consistent read), or undefined. */
export async function readRun(run: RunRecord): Promise<Record<string, unknown> | undefined> {
  return (
    await run.db.send(new GetCommand({ TableName: run.table, Key: run.key, ConsistentRead: true }))
  ).Item;
}

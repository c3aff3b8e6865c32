import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { IllegalTransitionError } from "../../runtime/transitions.js";
import {
  isJobStatus,
  JOB_KEY_ATTRIBUTE,
  JOB_STATUS_ATTRIBUTE,
  JOB_TABLE,
  type JobField,
  type JobSource,
  type JobStatus,
  jobUpdate,
  NEW_JOB,
} from "../job-states.js";

/**
 * Job state in DynamoDB: one item per unit of work (pk `jobId`), moved only by conditional writes
 * that refuse illegal transitions (see `job-states.ts`). The item carries its own history, so
 * "what happened to order X?" is one consistent read.
 */

/** Who made a transition: a queue consumer, a workflow, the execution-status listener, a human. */
export type JobActor =
  | "starter"
  | "consumer"
  | "scheduler"
  | "workflow"
  | "status-sync"
  | "operator";

export interface JobError {
  /** A stable code (`PAYMENT_DECLINED`, `States.Timeout`, `retries-exhausted`). */
  readonly error: string;
  readonly cause: string;
  /** The workflow step it happened in, if any. */
  readonly step?: string;
  /** How it failed: rejected (a business outcome), failed, error, compensation, … */
  readonly kind?: string;
  readonly at: string;
}

export interface JobTransitionRecord {
  readonly status: JobStatus;
  readonly at: string;
  readonly by: JobActor;
  /** The execution ARN or message id the transition came from. */
  readonly ref?: string;
  readonly note?: string;
}

export interface JobRecord {
  readonly jobId: string;
  readonly kind?: string;
  readonly businessKey?: string;
  readonly status: JobStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Attempts started or failed, as counted by the transitions that said so. */
  readonly attempts?: number;
  readonly lastError?: JobError;
  readonly correlationId?: string;
  /** The queue message that carried the work (the latest one seen). */
  readonly messageId?: string;
  /** The workflow execution running (or that ran) the work. */
  readonly executionArn?: string;
  readonly transitions: JobTransitionRecord[];
  /** How far a running step got, as it last reported (see reportJobProgress). */
  readonly progress?: JobProgress;
  /** A workflow step waiting for an answer, with its task token (see waiting.ts). */
  readonly waiting?: WaitingStep;
}

/** A workflow step waiting for SendTaskSuccess / SendTaskFailure. */
export interface WaitingStep {
  readonly step: string;
  /** The execution ARN the step waits in: the job's `executionArn` while it is the one running. */
  readonly execution: string;
  readonly taskToken: string;
  /** When the step started waiting (ISO). */
  readonly since: string;
  /** What the approver is asked, shown by `spool jobs show`. */
  readonly question?: string;
}

/** A running job's own account of how far it got: `done` of `total` units, and a note. */
export interface JobProgress {
  readonly done: number;
  readonly total: number;
  readonly note?: string;
  readonly at: string;
}

export interface JobTransition {
  readonly jobId: string;
  readonly to: JobStatus;
  readonly by: JobActor;
  readonly kind?: string;
  readonly businessKey?: string;
  readonly correlationId?: string;
  readonly messageId?: string;
  readonly executionArn?: string;
  readonly error?: Omit<JobError, "at">;
  readonly countAttempt?: boolean;
  readonly note?: string;
  /** Narrows the statuses this move may come from (a subset of the legal ones). */
  readonly onlyFrom?: readonly (JobStatus | typeof NEW_JOB)[];
}

export interface JobStore {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now?: () => Date;
}

/** A transition the job's current status does not allow. */
export class IllegalJobTransitionError extends IllegalTransitionError {
  override readonly name = "IllegalJobTransitionError";
  constructor(
    readonly jobId: string,
    override readonly from: JobSource,
    override readonly to: JobStatus,
  ) {
    super(JOB_TABLE.subject, jobId, from, to);
  }
}

/**
 * Moves a job to `to` if its current status allows it (creating it when NEW may enter `to`), and
 * returns the job as written. Throws IllegalJobTransitionError naming the status it found.
 */
export async function transitionJob(store: JobStore, t: JobTransition): Promise<JobRecord> {
  const at = (store.now?.() ?? new Date()).toISOString();
  const fieldValues: Partial<Record<JobField, unknown>> = {
    kind: t.kind,
    businessKey: t.businessKey,
    correlationId: t.correlationId,
    messageId: t.messageId,
    executionArn: t.executionArn,
    lastError: t.error ? { ...t.error, at } : undefined,
  };
  const identity: JobField[] = ["kind", "businessKey", "correlationId"];
  const present = (f: JobField) => fieldValues[f] !== undefined;
  const update = jobUpdate({
    to: t.to,
    setIfAbsent: identity.filter(present),
    set: (["messageId", "executionArn", "lastError"] as JobField[]).filter(present),
    countAttempt: t.countAttempt ?? false,
    ...(t.onlyFrom ? { onlyFrom: t.onlyFrom } : {}),
  });
  const entry: JobTransitionRecord = {
    status: t.to,
    at,
    by: t.by,
    ...(t.executionArn || t.messageId ? { ref: t.executionArn ?? t.messageId } : {}),
    ...(t.note ? { note: t.note } : {}),
  };
  const values: Record<string, unknown> = {
    ...update.values,
    ":at": at,
    ":entry": [entry],
    ":empty": [],
    ...(t.countAttempt ? { ":one": 1 } : {}),
  };
  for (const field of [...identity, "messageId", "executionArn", "lastError"] as JobField[]) {
    if (present(field)) values[`:${field}`] = fieldValues[field];
  }
  try {
    const result = await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { [JOB_KEY_ATTRIBUTE]: t.jobId },
        UpdateExpression: update.updateExpression,
        ConditionExpression: update.conditionExpression,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return result.Attributes as JobRecord;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = await getJob(store, t.jobId);
    throw new IllegalJobTransitionError(t.jobId, current?.status ?? NEW_JOB, t.to);
  }
}

/** The job as last written (a consistent read), or undefined when nobody recorded it. */
export async function getJob(store: JobStore, jobId: string): Promise<JobRecord | undefined> {
  const { Item } = await store.db.send(
    new GetCommand({
      TableName: store.table,
      Key: { [JOB_KEY_ATTRIBUTE]: jobId },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  if (!isJobStatus(Item.status)) {
    throw new Error(`job ${jobId} has an unknown status ${JSON.stringify(Item.status)}`);
  }
  return { transitions: [], ...Item } as unknown as JobRecord;
}

/**
 * Records how far a RUNNING job got. Not a transition (the status stays), so it is not in the
 * job's history; the write is conditional on RUNNING, so a report that arrives after the job
 * finished or was canceled changes nothing. One UpdateItem with no read and nothing returned:
 * cheap enough to call once per chunk. Returns whether it was written (false: not RUNNING).
 */
export async function reportJobProgress(
  store: JobStore,
  jobId: string,
  progress: Omit<JobProgress, "at">,
): Promise<boolean> {
  const at = (store.now?.() ?? new Date()).toISOString();
  // No undefined attribute: the document client refuses to marshal one.
  const record: JobProgress = {
    done: progress.done,
    total: progress.total,
    ...(progress.note ? { note: progress.note } : {}),
    at,
  };
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { [JOB_KEY_ATTRIBUTE]: jobId },
        UpdateExpression: "SET #progress = :progress, #updatedAt = :at",
        ConditionExpression: "#status = :running",
        ExpressionAttributeNames: {
          "#progress": "progress",
          "#updatedAt": "updatedAt",
          "#status": JOB_STATUS_ATTRIBUTE,
        },
        ExpressionAttributeValues: {
          ":progress": record,
          ":at": at,
          ":running": "RUNNING" satisfies JobStatus,
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Cancels a job that has not finished. Only PENDING, RETRYING and RUNNING jobs can be canceled;
 * a workflow refuses to start a canceled job, and a running execution must also be stopped
 * (its status listener then records the stop).
 */
export function cancelJob(
  store: JobStore,
  jobId: string,
  reason: string,
  by: JobActor = "operator",
): Promise<JobRecord> {
  return transitionJob(store, { jobId, to: "CANCELED", by, note: reason });
}

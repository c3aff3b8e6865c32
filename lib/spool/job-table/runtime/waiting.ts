import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { JOB_KEY_ATTRIBUTE, JOB_STATUS_ATTRIBUTE, JOB_WAITING_ATTRIBUTE } from "../contract.js";
import type { JobStatus } from "../job-states.js";
import type { JobRecord, JobStore, WaitingStep } from "./jobs.js";

export type { WaitingStep };

/**
 * Where a workflow's callback step keeps its task token so an approver can answer it: on the
 * job's own item (`waiting`), beside its status, so "what is this job waiting for?" and "answer
 * it" need one read. Not a transition: the job stays RUNNING while a step waits.
 *
 * The token is a capability (whoever holds it, and may call SendTaskSuccess on the state
 * machine, completes the step): readers of the job table can see it, so `spool jobs show` and
 * `describeJob` hide it, and only `spool jobs approve|reject` use it.
 */

const RUNNING: JobStatus = "RUNNING";

/**
 * Records the waiting step on a RUNNING job whose current execution is `waiting.execution`.
 * Returns false (and writes nothing) when the job is not RUNNING in that execution (canceled
 * meanwhile, or a stale execution): nobody should be asked to answer it then.
 */
export async function recordWaitingStep(
  store: JobStore,
  jobId: string,
  waiting: Omit<WaitingStep, "since">,
): Promise<boolean> {
  const since = (store.now?.() ?? new Date()).toISOString();
  const item: WaitingStep = { ...waiting, since };
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { [JOB_KEY_ATTRIBUTE]: jobId },
        UpdateExpression: "SET #waiting = :waiting, #updatedAt = :at",
        ConditionExpression: "#status = :running AND #executionArn = :execution",
        ExpressionAttributeNames: {
          "#waiting": JOB_WAITING_ATTRIBUTE,
          "#updatedAt": "updatedAt",
          "#status": JOB_STATUS_ATTRIBUTE,
          "#executionArn": "executionArn",
        },
        ExpressionAttributeValues: {
          ":waiting": item,
          ":at": since,
          ":running": RUNNING,
          ":execution": waiting.execution,
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
 * Removes the waiting step once it was answered, only if it still holds `taskToken` (a newer
 * wait, after a retry, is left alone). Returns whether it removed it.
 */
export async function clearWaitingStep(
  store: JobStore,
  jobId: string,
  taskToken: string,
): Promise<boolean> {
  try {
    await store.db.send(
      new UpdateCommand({
        TableName: store.table,
        Key: { [JOB_KEY_ATTRIBUTE]: jobId },
        UpdateExpression: "REMOVE #waiting",
        ConditionExpression: "#waiting.#taskToken = :token",
        ExpressionAttributeNames: { "#waiting": JOB_WAITING_ATTRIBUTE, "#taskToken": "taskToken" },
        ExpressionAttributeValues: { ":token": taskToken },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * The step a job is waiting in, if any: recorded, the job RUNNING, and in the execution the job
 * names. A record left by a step that timed out (the job then moved on) is not waiting.
 */
export function waitingStepOf(job: JobRecord): WaitingStep | undefined {
  const waiting = job.waiting;
  if (!waiting || job.status !== RUNNING || waiting.execution !== job.executionArn)
    return undefined;
  return waiting;
}

/** The job without its task token: what may be shown or logged. */
export function withoutTaskToken<J extends JobRecord | undefined>(job: J): J {
  if (!job?.waiting) return job;
  const { taskToken: _hidden, ...waiting } = job.waiting;
  return { ...job, waiting: { ...waiting, taskToken: "(hidden)" } };
}

import { DescribeExecutionCommand, type SFNClient } from "@aws-sdk/client-sfn";
import type { JobStatus } from "../../job-table/job-states.js";
import {
  getJob,
  IllegalJobTransitionError,
  type JobRecord,
  type JobStore,
  transitionJob,
} from "../../job-table/runtime/jobs.js";

/** The part of a "Step Functions Execution Status Change" event this listener reads. */
export interface ExecutionStatusChange {
  readonly executionArn: string;
  readonly status: string;
  readonly input?: string | null;
  readonly error?: string | null;
  readonly cause?: string | null;
}

export interface SyncDeps {
  readonly jobs: JobStore;
  readonly sfn: SFNClient;
}

export type SyncResult =
  | { readonly action: "recorded"; readonly jobId: string; readonly status: JobStatus }
  | { readonly action: "none"; readonly reason: string; readonly jobId?: string };

/**
 * The status a job takes when its execution ends without the state machine recording it: a
 * run that was stopped was canceled (unless it was compensating: then its effects are half
 * undone and an operator must look); one that timed out or failed outside the saga's own
 * states (a States.Runtime error, a failed job write) failed.
 */
export function statusAfter(job: JobRecord, executionStatus: string): JobStatus | undefined {
  if (job.status !== "RUNNING" && job.status !== "COMPENSATING") return undefined;
  if (executionStatus === "ABORTED") return job.status === "RUNNING" ? "CANCELED" : "FAILED";
  if (executionStatus === "TIMED_OUT" || executionStatus === "FAILED") return "FAILED";
  return undefined;
}

function jobIdOf(input: string | null | undefined): string | undefined {
  if (!input) return undefined;
  try {
    const jobId = (JSON.parse(input) as { jobId?: unknown }).jobId;
    return typeof jobId === "string" ? jobId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Brings a job up to date with an execution that ended abnormally. The state machine records
 * every end it reaches itself (SUCCEEDED, COMPENSATED, FAILED); this catches the ends it cannot
 * reach: a stop, a timeout, an error outside its Catch. A job already terminal is left alone.
 */
export async function syncJob(change: ExecutionStatusChange, deps: SyncDeps): Promise<SyncResult> {
  // Inputs above 256 KiB are left out of the event; the execution still has it.
  const input =
    change.input ??
    (await deps.sfn.send(new DescribeExecutionCommand({ executionArn: change.executionArn })))
      .input;
  const jobId = jobIdOf(input);
  if (!jobId) return { action: "none", reason: "the execution input names no jobId" };
  const job = await getJob(deps.jobs, jobId);
  if (!job) return { action: "none", reason: "no such job", jobId };
  const to = statusAfter(job, change.status);
  if (!to) return { action: "none", reason: `job is ${job.status}: nothing to do`, jobId };
  try {
    await transitionJob(deps.jobs, {
      jobId,
      to,
      by: "status-sync",
      executionArn: change.executionArn,
      error: {
        error: change.error || `execution ${change.status}`,
        cause: change.cause || `the execution ended ${change.status}`,
        kind: "execution",
      },
      note: `execution ${change.status}`,
    });
    return { action: "recorded", jobId, status: to };
  } catch (error) {
    // The state machine (or another event) got there first.
    if (error instanceof IllegalJobTransitionError) {
      return { action: "none", reason: error.message, jobId };
    }
    throw error;
  }
}

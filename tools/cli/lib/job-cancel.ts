import { randomUUID } from "node:crypto";
import { type SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { isTerminal, type JobStatus } from "../../../lib/spool/job-table/job-states.js";
import {
  cancelJob,
  getJob,
  IllegalJobTransitionError,
  type JobStore,
} from "../../../lib/spool/job-table/runtime/jobs.js";
import type { Operator } from "./audit.js";
import type { JobCancelAudit } from "./change-audits.js";
import { SpoolCliError } from "./errors.js";

export interface JobCancelOutcome {
  readonly jobId: string;
  readonly before: JobStatus;
  readonly after: "CANCELED";
  readonly reason: string;
  readonly cancelId: string;
  /** The workflow execution the job names, if any, and what became of the stop. */
  readonly execution?: {
    readonly executionArn: string;
    readonly stopped: boolean;
    readonly error?: string;
  };
}

export interface JobCancelDeps {
  readonly jobs: JobStore;
  readonly sfn: SFNClient;
  readonly audit: JobCancelAudit;
  readonly operator: Operator;
  readonly stack: string;
  readonly now?: () => Date;
}

/**
 * Cancels a job that has not finished, audited: CANCELED first (a conditional move, so a job
 * that finished meanwhile is refused, and a saga's next job write, or a queue step's next
 * `cancelled()` check, sees it), then, for a workflow job, StopExecution. A stop runs no
 * compensation (see the saga-workflow README); a COMPENSATING job cannot be canceled at all.
 */
export async function cancelJobAudited(
  jobId: string,
  reason: string,
  deps: JobCancelDeps,
): Promise<JobCancelOutcome> {
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const job = await getJob(deps.jobs, jobId);
  if (!job) throw new SpoolCliError(`no job ${jobId} in ${deps.jobs.table}`);
  if (isTerminal(job.status)) {
    throw new SpoolCliError(
      `job ${jobId} is ${job.status}${job.finishedAt ? ` since ${job.finishedAt}` : ""}: a finished job cannot be canceled`,
    );
  }
  if (job.status === "COMPENSATING") {
    throw new SpoolCliError(
      `job ${jobId} is COMPENSATING: its completed steps are being undone, and a cancel would stop that halfway; wait for COMPENSATED or FAILED`,
    );
  }
  const cancelId = randomUUID();
  await deps.audit.started({
    cancelId,
    stack: deps.stack,
    table: deps.jobs.table,
    jobId,
    before: job.status,
    reason,
    ...(job.executionArn ? { executionArn: job.executionArn } : {}),
    operator: deps.operator,
    startedAt: now(),
  });
  try {
    await cancelJob(deps.jobs, jobId, reason, "operator");
  } catch (error) {
    const refused = error instanceof IllegalJobTransitionError;
    await deps.audit.finished(cancelId, {
      status: refused ? "refused" : "failed",
      after: refused ? error.from : undefined,
      finishedAt: now(),
      error: (error as Error).message,
    });
    if (refused) {
      throw new SpoolCliError(
        `job ${jobId} moved to ${error.from} while being canceled: it was not canceled (recorded as cancel ${cancelId})`,
      );
    }
    throw error;
  }
  let execution: JobCancelOutcome["execution"];
  if (job.executionArn) {
    try {
      await deps.sfn.send(
        new StopExecutionCommand({
          executionArn: job.executionArn,
          error: "JOB_CANCELED",
          cause: reason,
        }),
      );
      execution = { executionArn: job.executionArn, stopped: true };
    } catch (error) {
      // The job is CANCELED either way: the saga's next job write refuses to go on.
      execution = {
        executionArn: job.executionArn,
        stopped: false,
        error: (error as Error).message,
      };
    }
  }
  await deps.audit.finished(cancelId, {
    status: "completed",
    after: "CANCELED",
    ...(execution ? { executionStopped: execution.stopped } : {}),
    finishedAt: now(),
    ...(execution?.error ? { error: execution.error } : {}),
  });
  return {
    jobId,
    before: job.status,
    after: "CANCELED",
    reason,
    cancelId,
    ...(execution ? { execution } : {}),
  };
}

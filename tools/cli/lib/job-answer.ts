import { randomUUID } from "node:crypto";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { getJob, type JobStore } from "../../../lib/spool/job-table/runtime/jobs.js";
import { clearWaitingStep, waitingStepOf } from "../../../lib/spool/job-table/runtime/waiting.js";
import { answerWaitingStep } from "../../../lib/spool/saga-workflow/runtime/callback.js";
import type { Operator } from "./audit.js";
import type { JobAnswerAudit } from "./change-audits.js";
import { SpoolCliError } from "./errors.js";

export interface JobAnswerOutcome {
  readonly jobId: string;
  readonly answer: "approve" | "reject";
  readonly step: string;
  readonly executionArn: string;
  readonly reason?: string;
  readonly answerId: string;
}

export interface JobAnswerDeps {
  readonly jobs: JobStore;
  readonly sfn: SFNClient;
  readonly audit: JobAnswerAudit;
  readonly operator: Operator;
  readonly stack: string;
  readonly now?: () => Date;
}

/**
 * Answers the callback step a job waits in, audited: reads the token from the job's `waiting`
 * entry, sends SendTaskSuccess (approve: the saga goes on) or SendTaskFailure `Spool.Rejected`
 * (reject: it compensates), then removes the entry. The token is never printed or audited.
 *
 * A job that waits for nothing (unknown, finished, or its step timed out) is refused before
 * anything is sent; a step that stopped waiting between the read and the answer (answered by
 * someone else, timed out) is reported as such, with nothing changed.
 */
export async function answerJobAudited(
  jobId: string,
  answer: { readonly approve: boolean; readonly reason?: string },
  deps: JobAnswerDeps,
): Promise<JobAnswerOutcome> {
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const verb = answer.approve ? "approve" : "reject";
  const job = await getJob(deps.jobs, jobId);
  if (!job) throw new SpoolCliError(`no job ${jobId} in ${deps.jobs.table}`);
  const waiting = waitingStepOf(job);
  if (!waiting) {
    const stale = job.waiting ? ` (its step ${job.waiting.step} stopped waiting)` : "";
    throw new SpoolCliError(
      `job ${jobId} is ${job.status}${stale} and waits for no answer: nothing to ${verb}`,
    );
  }
  const answerId = randomUUID();
  const base = {
    jobId,
    answer: verb,
    step: waiting.step,
    executionArn: waiting.execution,
    ...(answer.reason ? { reason: answer.reason } : {}),
  } as const;
  await deps.audit.started({
    ...base,
    answerId,
    stack: deps.stack,
    table: deps.jobs.table,
    operator: deps.operator,
    startedAt: now(),
  });
  let result: Awaited<ReturnType<typeof answerWaitingStep>>;
  try {
    result = await answerWaitingStep(deps.sfn, waiting.taskToken, {
      approved: answer.approve,
      by: deps.operator.principal,
      ...(answer.reason ? { reason: answer.reason } : {}),
    });
  } catch (error) {
    await deps.audit.finished(answerId, {
      status: "failed",
      finishedAt: now(),
      error: (error as Error).message,
    });
    throw error;
  }
  // Answered or not, this token will never be answered again: nobody should try it.
  await clearWaitingStep(deps.jobs, jobId, waiting.taskToken);
  await deps.audit.finished(answerId, {
    status: result === "answered" ? "completed" : "not-waiting",
    finishedAt: now(),
  });
  if (result === "not-waiting") {
    throw new SpoolCliError(
      `job ${jobId}'s step ${waiting.step} no longer waits (answered already, timed out, or its execution ended): nothing was ${verb === "approve" ? "approved" : "rejected"} (recorded as answer ${answerId})`,
    );
  }
  return { ...base, answerId };
}

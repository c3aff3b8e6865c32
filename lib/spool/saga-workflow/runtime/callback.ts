import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import type { JobStore } from "../../job-table/runtime/jobs.js";
import { recordWaitingStep } from "../../job-table/runtime/waiting.js";
import { PermanentError } from "../../runtime/errors.js";
import { CALLBACK_REJECTED } from "../contract.js";
import type { StepContext, StepResult } from "./saga-step.js";

/**
 * Both ends of a SagaWorkflow callback step (`callback: true`): the step's action that parks
 * the task token on the job for an approver, and the calls that answer it.
 */

/**
 * A callback step's action that asks a person: records the waiting step (with its token) on
 * the job, for `spool jobs approve|reject`. Needs the workflow's `jobTable` and
 * `dynamodb:UpdateItem` on it. A job that is no longer RUNNING in this execution (canceled
 * meanwhile) fails the step at once instead of waiting for an answer nobody can give.
 */
export function waitForApproval<R>(
  store: JobStore,
  question?: (request: R) => string,
): (request: R, ctx: StepContext) => Promise<StepResult> {
  return async (request, ctx) => {
    if (!ctx.taskToken) {
      throw new PermanentError(
        `step ${ctx.step} has no task token: declare it with callback: true`,
        {
          code: "INVALID_PAYLOAD",
        },
      );
    }
    if (!ctx.jobId) {
      throw new PermanentError(`step ${ctx.step} has no job id: give the workflow a jobTable`, {
        code: "INVALID_PAYLOAD",
      });
    }
    const recorded = await recordWaitingStep(store, ctx.jobId, {
      step: ctx.step,
      execution: ctx.execution,
      taskToken: ctx.taskToken,
      ...(question ? { question: question(request) } : {}),
    });
    if (!recorded) {
      throw new PermanentError(`job ${ctx.jobId} is not RUNNING in ${ctx.execution}`, {
        code: "JOB_NOT_WAITING",
      });
    }
    ctx.logger.info("waiting for an answer", { jobId: ctx.jobId });
    return { outcome: "ok", waiting: true };
  };
}

/** An answer to a waiting step: approved (the saga goes on) or rejected (it compensates). */
export interface CallbackAnswer {
  readonly approved: boolean;
  /** Who answered (an operator's ARN, an approver's id). */
  readonly by: string;
  readonly reason?: string;
}

/**
 * `answered`: Step Functions took it. `not-waiting`: the token no longer names a waiting task
 * (it was answered already, timed out, or its execution ended), so nothing changed.
 */
export type AnswerResult = "answered" | "not-waiting";

/** Errors meaning the token names no waiting task any more (AWS and MiniStack names). */
const NOT_WAITING = new Set(["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"]);

/**
 * Answers a waiting step: SendTaskSuccess with `{ outcome: "ok", approvedBy, reason }` (the
 * step's result; the saga goes on), or SendTaskFailure with error `Spool.Rejected` (never
 * retried; the saga compensates). The caller needs `states:SendTaskSuccess` /
 * `states:SendTaskFailure` on the state machine (SagaWorkflow.grantTaskResponse).
 */
export async function answerWaitingStep(
  sfn: SFNClient,
  taskToken: string,
  answer: CallbackAnswer,
): Promise<AnswerResult> {
  try {
    if (answer.approved) {
      await sfn.send(
        new SendTaskSuccessCommand({
          taskToken,
          output: JSON.stringify({
            outcome: "ok",
            approvedBy: answer.by,
            ...(answer.reason ? { reason: answer.reason } : {}),
          }),
        }),
      );
    } else {
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken,
          error: CALLBACK_REJECTED,
          cause: `rejected by ${answer.by}${answer.reason ? `: ${answer.reason}` : ""}`,
        }),
      );
    }
    return "answered";
  } catch (error) {
    if (NOT_WAITING.has((error as Error).name)) return "not-waiting";
    throw error;
  }
}

/**
 * Tells Step Functions the holder of a token is still at work, for a step with `heartbeat`: call
 * it more often than the heartbeat, or the step fails with States.HeartbeatTimeout. Needs
 * `states:SendTaskHeartbeat` (SagaWorkflow.grantTaskResponse).
 */
export async function sendStepHeartbeat(sfn: SFNClient, taskToken: string): Promise<AnswerResult> {
  try {
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
    return "answered";
  } catch (error) {
    if (NOT_WAITING.has((error as Error).name)) return "not-waiting";
    throw error;
  }
}

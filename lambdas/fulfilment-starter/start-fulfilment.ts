import type { SFNClient } from "@aws-sdk/client-sfn";
import { jobIdFor } from "../../lib/spool/job-table/job-states.js";
import {
  IllegalJobTransitionError,
  type JobStore,
  transitionJob,
} from "../../lib/spool/job-table/runtime/jobs.js";
import { canonicalJson } from "../../lib/spool/runtime/canonical-json.js";
import type { DeadLetterMetadata } from "../../lib/spool/runtime/dead-letter.js";
import { classify } from "../../lib/spool/runtime/errors.js";
import type { FaultInjector } from "../../lib/spool/runtime/faults.js";
import type { RecordContext } from "../../lib/spool/runtime/sqs-consumer.js";
import {
  executionNameFor,
  type StartOutcome,
  startExecutionIdempotently,
} from "../../lib/spool/saga-workflow/runtime/executions.js";
import { applyFaultDirective } from "../../lib/spool/saga-workflow/runtime/saga-step.js";
import {
  FULFILMENT_JOB_KIND,
  type FulfilmentRequest,
  OrderToFulfil,
} from "../fulfilment-steps/schema.js";

export interface StarterDeps {
  readonly sfn: SFNClient;
  readonly jobs: JobStore;
  readonly stateMachineArn: string;
  /** Set only in test deployments; then fault directives travel into the workflow. */
  readonly faults: FaultInjector | undefined;
}

/** The SagaWorkflow input (see lib/spool/saga-workflow). */
export interface FulfilmentSagaInput {
  readonly jobId: string;
  readonly correlationId: string;
  readonly request: OrderToFulfil;
  readonly faults?: Record<string, string>;
}

export const fulfilmentJobId = (orderId: string) => jobIdFor(FULFILMENT_JOB_KIND, orderId);

export function fulfilmentSagaInput(
  request: FulfilmentRequest,
  correlationId: string,
  faultInjection: boolean,
): FulfilmentSagaInput {
  return {
    jobId: fulfilmentJobId(request.orderId),
    correlationId,
    request: OrderToFulfil.parse(request),
    ...(faultInjection && request.faults ? { faults: request.faults } : {}),
  };
}

/** Two inputs describe the same work when the order and its test directives are equal. */
export function sameFulfilment(existing: unknown, requested: unknown): boolean {
  const work = (input: unknown) => {
    const i = (input ?? {}) as Partial<FulfilmentSagaInput>;
    return canonicalJson({ request: i.request, faults: i.faults ?? null });
  };
  return work(existing) === work(requested);
}

/**
 * Starts the fulfilment saga for one request, at most once per order.
 *
 * The exactly-once boundary is the execution name, derived from the order id: a duplicate
 * message finds the execution already there (and is answered by it), a different order sent
 * under a used id is a permanent failure and goes to the dead-letter queue with the reason.
 * The job is recorded PENDING first, so an order is visible from the moment it is accepted;
 * a start that fails transiently marks it RETRYING with the error.
 */
export async function startFulfilment(
  request: FulfilmentRequest,
  ctx: Pick<RecordContext, "messageId" | "correlationId" | "attempt" | "logger">,
  deps: StarterDeps,
): Promise<StartOutcome> {
  const jobId = fulfilmentJobId(request.orderId);
  try {
    await transitionJob(deps.jobs, {
      jobId,
      to: "PENDING",
      by: "starter",
      kind: FULFILMENT_JOB_KIND,
      businessKey: request.orderId,
      correlationId: ctx.correlationId,
      messageId: ctx.messageId,
    });
  } catch (error) {
    // The job exists: a duplicate or a redelivery. The execution name decides what happens.
    if (!(error instanceof IllegalJobTransitionError)) throw error;
  }
  try {
    const directive = request.faults?.start;
    if (deps.faults && directive) {
      await applyFaultDirective(deps.faults, directive, ctx.attempt, () => 30_000);
    }
    const outcome = await startExecutionIdempotently({
      sfn: deps.sfn,
      stateMachineArn: deps.stateMachineArn,
      name: executionNameFor(request.orderId),
      input: fulfilmentSagaInput(request, ctx.correlationId, deps.faults !== undefined),
      sameWork: sameFulfilment,
    });
    ctx.logger.info(
      outcome.status === "started" ? "workflow started" : "duplicate start suppressed",
      { jobId, executionArn: outcome.executionArn },
    );
    return outcome;
  } catch (error) {
    const failure = classify(error);
    if (failure.kind === "transient") {
      await markRetrying(deps.jobs, jobId, ctx, failure.errorClass, failure.message);
    }
    throw error;
  }
}

async function markRetrying(
  jobs: JobStore,
  jobId: string,
  ctx: Pick<RecordContext, "messageId" | "logger">,
  error: string,
  cause: string,
): Promise<void> {
  try {
    await transitionJob(jobs, {
      jobId,
      to: "RETRYING",
      by: "starter",
      // A start that looked failed may have worked (a timeout after StartExecution succeeded):
      // once the workflow has recorded RUNNING, the job is no longer the starter's to move.
      onlyFrom: ["PENDING", "RETRYING"],
      messageId: ctx.messageId,
      countAttempt: true,
      error: { error, cause, kind: "start" },
    });
  } catch (recordError) {
    // The retry goes ahead either way; the job state is bookkeeping, not the work.
    ctx.logger.warn("could not mark the job RETRYING", {
      jobId,
      error: (recordError as Error).message,
    });
  }
}

/**
 * Marks the order's job DEAD_LETTERED once its start request is in the dead-letter queue, so
 * "what happened to order X?" has an answer even when no workflow ever ran. A request refused
 * because its order id is already used for other work belongs to no job of its own: the job of
 * that id is the other work's, and stays as it is.
 */
export async function recordDeadLetter(
  body: unknown,
  metadata: DeadLetterMetadata,
  jobs: JobStore,
): Promise<void> {
  if (metadata.errorCode === "EXECUTION_NAME_REUSED") return;
  const orderId = (body as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) return;
  try {
    await transitionJob(jobs, {
      jobId: fulfilmentJobId(orderId),
      to: "DEAD_LETTERED",
      by: "starter",
      kind: FULFILMENT_JOB_KIND,
      businessKey: orderId,
      correlationId: metadata.correlationId,
      messageId: metadata.messageId,
      error: { error: metadata.errorCode, cause: metadata.errorMessage, kind: metadata.reason },
    });
  } catch (error) {
    if (!(error instanceof IllegalJobTransitionError)) throw error;
  }
}

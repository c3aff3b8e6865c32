import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import type { ZodType } from "zod";
import * as z from "zod";
import { classify, PermanentError } from "../../runtime/errors.js";
import { FAULT_ATTRIBUTE, type FaultInjector, faultInjectorFromEnv } from "../../runtime/faults.js";

/**
 * The Lambda side of a SagaWorkflow step (lib/spool/saga-workflow).
 *
 * The contract with the state machine:
 * - a step RETURNS its business outcome: `{ outcome: "ok", … }`, or `{ outcome: "rejected",
 *   code, reason }` when a business rule says no (payment declined, out of stock). A rejecting
 *   step must have made no effect: only the steps before it are compensated.
 * - a PermanentError (bad input, a rule that retrying cannot change) is also returned, as
 *   `{ outcome: "failed", code, reason }`, so it is never retried; the step may have made part
 *   of its effect, so its own compensation runs too.
 * - anything else thrown is transient: the state machine retries it with backoff and jitter, and
 *   compensates (this step included) once the attempts are spent.
 *
 * Returning outcomes instead of throwing them also makes the split independent of error names,
 * which some runtimes lose (MiniStack reports every Lambda error as `Runtime.HandlerError`).
 */

export type SagaPhase = "action" | "compensation";

/** Why a saga is compensating: written by the state machine, handed to every compensation. */
export interface SagaFailure {
  readonly step: string;
  /** rejected: a business outcome; failed: a permanent error; error: retries spent or invalid. */
  readonly kind: "rejected" | "failed" | "error";
  readonly error: string;
  readonly cause: string;
}

export interface SagaStepPayload<R> {
  readonly step: string;
  readonly phase: SagaPhase;
  readonly jobId?: string;
  readonly correlationId: string;
  readonly request: R;
  /** Results of the steps completed so far, by step name. */
  readonly results: Record<string, unknown>;
  /** The execution ARN (`$$.Execution.Id`). */
  readonly execution: string;
  /** Retries of this task so far (`$$.State.RetryCount`): 0 on the first attempt. */
  readonly retryCount: number;
  /** Test deployments only: fault directives by step (`chargePayment`, `chargePayment.compensation`). */
  readonly faults?: Record<string, string>;
  /** Compensations only: what went wrong. */
  readonly failure?: SagaFailure;
  /** Callback steps only: the token that completes the step (`$$.Task.Token`). */
  readonly taskToken?: string;
}

export type StepResult =
  | ({ readonly outcome: "ok" } & Record<string, unknown>)
  | { readonly outcome: "rejected"; readonly code: string; readonly reason: string }
  | { readonly outcome: "failed"; readonly code: string; readonly reason: string };

/** What a compensation did; only a thrown error counts as not done. */
export type CompensationResult = {
  readonly outcome: "compensated" | "nothing-to-undo" | "already-compensated";
} & Record<string, unknown>;

export interface StepContext {
  readonly step: string;
  readonly phase: SagaPhase;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly execution: string;
  readonly correlationId: string;
  readonly jobId: string | undefined;
  readonly results: Record<string, unknown>;
  readonly failure: SagaFailure | undefined;
  /**
   * Callback steps only (`callback: true`): the token whoever answers the step passes to
   * SendTaskSuccess / SendTaskFailure. A capability: store it where only the answerer reads it,
   * and never log it. The action's `ok` result only says the token was handed on.
   */
  readonly taskToken?: string;
  readonly logger: Logger;
}

export interface SagaStepDefinition<R> {
  /** Validates the business request carried by the execution. */
  readonly schema: ZodType<R>;
  readonly actions: Record<string, (request: R, ctx: StepContext) => Promise<StepResult>>;
  readonly compensations: Record<
    string,
    (request: R, ctx: StepContext) => Promise<CompensationResult>
  >;
}

export interface SagaStepDependencies {
  readonly faults: FaultInjector | undefined;
  readonly logger: Logger;
}

const Payload = z.object({
  step: z.string().min(1),
  phase: z.enum(["action", "compensation"]),
  jobId: z.string().optional(),
  correlationId: z.string(),
  request: z.unknown(),
  results: z.record(z.string(), z.unknown()),
  execution: z.string(),
  retryCount: z.number().int().min(0),
  faults: z.record(z.string(), z.string()).optional(),
  taskToken: z.string().min(1).optional(),
  failure: z
    .object({
      step: z.string(),
      kind: z.enum(["rejected", "failed", "error"]),
      error: z.string(),
      cause: z.string(),
    })
    .optional(),
});

/** The fault directive key of a step's action or compensation. */
export function faultKey(step: string, phase: SagaPhase): string {
  return phase === "action" ? step : `${step}.compensation`;
}

/**
 * Applies one fault directive (`transient:N`, `permanent`, `timeout:N`, `slow:MS`) to attempt
 * `attempt` (1 = first), with exactly the semantics of an SQS message's `spool-fault` attribute:
 * it goes through the injector's record path, so workflow steps and starters need no fault API
 * of their own (and the injector's random rates, when set, apply to them too).
 */
export function applyFaultDirective(
  faults: FaultInjector,
  directive: string,
  attempt: number,
  remainingMs: () => number,
): Promise<void> {
  return faults.beforeRecord(
    { messageAttributes: { [FAULT_ATTRIBUTE]: { dataType: "String", stringValue: directive } } },
    attempt,
    remainingMs,
  );
}

/** A directive that makes an action return a rejection, as a business rule would. */
export const REJECT_DIRECTIVE = "rejected";

function failed(code: string, reason: string): StepResult {
  return { outcome: "failed", code, reason };
}

/**
 * Builds the handler for one or more saga steps (dispatching on the payload's step and phase):
 * validates the payload and request, applies fault directives in test deployments, and turns a
 * PermanentError of an action into a `failed` outcome. Compensations throw whatever they throw:
 * a compensation must eventually succeed, so the state machine retries it and, if it never
 * does, ends the run FAILED for an operator.
 */
export function createSagaStepHandler<R>(
  definition: SagaStepDefinition<R>,
  deps: SagaStepDependencies = { faults: faultInjectorFromEnv(), logger: new Logger() },
) {
  return async function handler(
    event: unknown,
    context?: Pick<Context, "getRemainingTimeInMillis">,
  ): Promise<StepResult | CompensationResult> {
    const parsed = Payload.safeParse(event);
    if (!parsed.success) {
      const reason = `the step payload is invalid: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join(".")}: ${i.message}`)
        .join("; ")}`;
      deps.logger.error(reason);
      const { phase, taskToken } = (event as { phase?: unknown; taskToken?: unknown } | null) ?? {};
      if (phase === "compensation" || taskToken !== undefined)
        throw new PermanentError(reason, { code: "INVALID_PAYLOAD" });
      return failed("INVALID_PAYLOAD", reason);
    }
    const payload = parsed.data;
    const { step, phase } = payload;
    const attempt = payload.retryCount + 1;
    const logger = deps.logger.createChild({
      persistentKeys: {
        step,
        phase,
        attempt,
        execution: payload.execution,
        correlationId: payload.correlationId,
        ...(payload.jobId ? { jobId: payload.jobId } : {}),
      },
    });
    const ctx: StepContext = {
      step,
      phase,
      attempt,
      execution: payload.execution,
      correlationId: payload.correlationId,
      jobId: payload.jobId,
      results: payload.results,
      failure: payload.failure,
      ...(payload.taskToken ? { taskToken: payload.taskToken } : {}),
      logger,
    };
    // A callback step's result is ignored by Step Functions (it waits for the token), so a no
    // must fail the invocation instead, or the step would wait until its timeout.
    const callback = payload.taskToken !== undefined;
    const run = phase === "action" ? definition.actions[step] : definition.compensations[step];
    try {
      if (!run) {
        throw new PermanentError(`no ${phase} is defined for step ${step}`, {
          code: "UNKNOWN_STEP",
        });
      }
      const request = definition.schema.safeParse(payload.request);
      if (!request.success) {
        throw new PermanentError(
          `the request does not match its schema: ${request.error.issues
            .slice(0, 3)
            .map((i) => `${i.path.join(".")}: ${i.message}`)
            .join("; ")}`,
          { code: "INVALID_REQUEST" },
        );
      }
      const directive = deps.faults ? payload.faults?.[faultKey(step, phase)] : undefined;
      if (directive !== undefined && deps.faults) {
        logger.warn("fault directive", { directive });
        if (directive === REJECT_DIRECTIVE && phase === "action") {
          return {
            outcome: "rejected",
            code: "INJECTED_REJECTION",
            reason: "rejected by fault injection",
          };
        }
        await applyFaultDirective(
          deps.faults,
          directive,
          attempt,
          () => context?.getRemainingTimeInMillis() ?? 30_000,
        );
      }
      const result = await run(request.data, ctx);
      logger.info(`${phase} done`, { outcome: result.outcome });
      if (callback && result.outcome !== "ok") {
        const { code, reason } = result as { code: string; reason: string };
        throw new PermanentError(`${result.outcome} (${code}): ${reason}`, {
          code: "CALLBACK_NOT_HANDED_ON",
        });
      }
      return result;
    } catch (error) {
      const failure = classify(error);
      if (failure.kind === "permanent" && phase === "action" && !callback) {
        logger.warn("action failed permanently", { failure });
        return failed(failure.code, failure.message);
      }
      logger.warn(`${phase} failed; the state machine decides about a retry`, { failure });
      throw error;
    }
  };
}

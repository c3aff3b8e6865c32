import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import {
  Choice,
  Condition,
  Errors,
  Fail,
  type IChainable,
  type INextable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Pass,
  type State,
  Succeed,
  TaskInput,
  Timeout,
} from "aws-cdk-lib/aws-stepfunctions";
import { type DynamoUpdateItem, LambdaInvoke } from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";
import type { JobStatus } from "../job-table/job-states.js";
import { CALLBACK_REJECTED } from "./contract.js";
import { type RecordJobOptions, recordJobTask } from "./record-job-task.js";
import type { SagaRetry, SagaStep, SagaWorkflowProps } from "./saga-workflow-props.js";

/** The errors a saga execution can end with (besides Step Functions' own). */
export const SAGA_ERRORS = {
  /** A step failed or said no; every completed step was undone. The job is COMPENSATED. */
  compensated: "COMPENSATED",
  /** A compensation kept failing: effects may be left behind. The job is FAILED. */
  compensationFailed: "COMPENSATION_FAILED",
  /** The input lacks `correlationId`, `request` (or `jobId` with job tracking). */
  invalidInput: "INVALID_INPUT",
  /** The job's status does not allow a start (already started, finished, or canceled). */
  jobNotRunnable: "JOB_NOT_RUNNABLE",
  /** The steps completed but the job had been moved meanwhile (canceled): look at both. */
  jobStateConflict: "JOB_STATE_CONFLICT",
} as const;

/** Errors a function raises on purpose when retrying cannot help (lib/spool/runtime/errors.ts). */
const PERMANENT_ERRORS = ["PermanentError"];

/** The retry policies in force, defaults filled in. */
export interface SagaRetries {
  readonly step: Required<SagaRetry>;
  readonly compensation: Required<SagaRetry>;
}

/**
 * The state machine definition of a saga: input checks, the steps in order with their outcome
 * checks, the compensations newest first, and (with a job table) the job's recorded transitions.
 * Its states are created in `scope` (the SagaWorkflow), so their ids stay the workflow's.
 */
export function sagaDefinition(
  scope: Construct,
  props: SagaWorkflowProps,
  retries: SagaRetries,
): IChainable {
  return new DefinitionBuilder(scope, props, retries).build();
}

class DefinitionBuilder {
  private readonly stepRetry: Required<SagaRetry>;
  private readonly compensationRetry: Required<SagaRetry>;

  constructor(
    private readonly scope: Construct,
    private readonly props: SagaWorkflowProps,
    retries: SagaRetries,
  ) {
    this.stepRetry = retries.step;
    this.compensationRetry = retries.compensation;
  }

  build(): IChainable {
    const { steps, jobTable } = this.props;
    const tracked = jobTable !== undefined;

    // End states.
    const succeeded = new Succeed(this.scope, "Succeeded");
    const compensated = new Fail(this.scope, "Compensated", {
      error: SAGA_ERRORS.compensated,
      causePath: JsonPath.jsonToString(JsonPath.objectAt("$.failure")),
    });
    const compensationFailed = new Fail(this.scope, "CompensationFailed", {
      stateName: "Compensation failed",
      error: SAGA_ERRORS.compensationFailed,
      causePath: JsonPath.jsonToString(JsonPath.objectAt("$.compensationFailure")),
    });
    const invalidInput = new Fail(this.scope, "InvalidInput", {
      stateName: "Invalid input",
      error: SAGA_ERRORS.invalidInput,
      cause: `the input must be an object with ${tracked ? "a string jobId, " : ""}a string correlationId and a request`,
    });

    // Compensation, and where it ends.
    const toCompensated = tracked
      ? this.recordJob("RecordCompensated", "COMPENSATED", {
          onConflict: compensated,
          anyError: true,
        }).next(compensated)
      : compensated;
    const toCompensationFailed = tracked
      ? this.recordJob("RecordCompensationFailed", "FAILED", {
          errorPath: "$.compensationFailure",
          onConflict: compensationFailed,
          anyError: true,
        }).next(compensationFailed)
      : compensationFailed;
    // Newest first: built oldest first, each undo goes on to the undo of the step before it.
    const undo = new Map<string, State & INextable>();
    let nextUndo: IChainable = toCompensated;
    for (const step of steps) {
      if (!step.compensation) continue;
      const task = this.compensationTask(step, toCompensationFailed);
      task.next(nextUndo);
      undo.set(step.name, task);
      nextUndo = task;
    }
    const compensateFrom = new Choice(this.scope, "CompensateFrom", {
      stateName: "Compensate from",
    });
    for (const [name, task] of undo) {
      compensateFrom.when(Condition.stringEquals("$.failure.compensateFrom", name), task);
    }
    compensateFrom.otherwise(toCompensated);
    const startCompensation: IChainable = tracked
      ? this.recordJob("RecordCompensating", "COMPENSATING", {
          errorPath: "$.failure",
          // The effects must be undone whatever the job table says (or whether it answers).
          onConflict: compensateFrom,
          anyError: true,
        }).next(compensateFrom)
      : compensateFrom;

    // Steps, last to first, so each knows what follows it.
    const jobConflict = new Fail(this.scope, "JobStateConflict", {
      stateName: "Job state conflict",
      error: SAGA_ERRORS.jobStateConflict,
      cause: "every step completed, but the job had already been moved (canceled?) meanwhile",
    });
    let next: IChainable = tracked
      ? this.recordJob("RecordSucceeded", "SUCCEEDED", { onConflict: jobConflict }).next(succeeded)
      : succeeded;
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i] as SagaStep;
      next = this.stepStates(step, i, next, startCompensation);
    }

    // Input checks, then the start.
    const prepare = (withFaults: boolean) =>
      new Pass(this.scope, withFaults ? "PrepareWithFaults" : "Prepare", {
        stateName: withFaults ? "Prepare (with fault directives)" : "Prepare",
        parameters: {
          ...(tracked ? { "jobId.$": "$.jobId" } : {}),
          "correlationId.$": "$.correlationId",
          "request.$": "$.request",
          results: {},
          compensations: {},
          ...(this.props.faultInjection
            ? withFaults
              ? { "faults.$": "$.faults" }
              : { faults: {} }
            : {}),
        },
      });
    const start: IChainable = tracked
      ? this.recordJob("RecordRunning", "RUNNING", {
          onConflict: new Fail(this.scope, "JobNotRunnable", {
            stateName: "Job not runnable",
            error: SAGA_ERRORS.jobNotRunnable,
            cause: "the job's status does not allow a start: already started, finished or canceled",
          }),
        }).next(next)
      : next;
    const required = [...(tracked ? ["$.jobId"] : []), "$.correlationId", "$.request"].map((path) =>
      Condition.isPresent(path),
    );
    const typed = [...(tracked ? ["$.jobId"] : []), "$.correlationId"].map((path) =>
      Condition.isString(path),
    );
    // Type tests only run once presence is known: a test on a missing path is an error.
    const checkTypes = new Choice(this.scope, "CheckInputTypes", {
      stateName: "Check input types",
    });
    if (this.props.faultInjection) {
      checkTypes.when(
        Condition.and(...typed, Condition.isPresent("$.faults")),
        prepare(true).next(start),
      );
    }
    checkTypes.when(Condition.and(...typed), prepare(false).next(start));
    checkTypes.otherwise(invalidInput);
    return new Choice(this.scope, "ValidateInput", { stateName: "Validate input" })
      .when(Condition.and(...required), checkTypes)
      .otherwise(invalidInput);
  }

  /** A step's task, the check of its outcome, and the failure records leading to compensation. */
  private stepStates(
    step: SagaStep,
    index: number,
    next: IChainable,
    startCompensation: IChainable,
  ): IChainable {
    const { name } = step;
    const result = `$.results.${name}`;
    // Which compensation runs first: this step's own when it may have made part of its effect
    // (it failed or threw), else the nearest earlier step that has one.
    const earlier = this.lastCompensableBefore(index);
    const fromHere = step.compensation ? name : earlier;
    const failure = (
      id: string,
      stateName: string,
      fields: Record<string, unknown>,
      from: string,
    ) =>
      new Pass(this.scope, id, {
        stateName,
        parameters: { step: name, ...fields, compensateFrom: from },
        resultPath: "$.failure",
      }).next(startCompensation);

    const rejected = failure(
      `${name}Rejected`,
      `${name} rejected`,
      {
        kind: "rejected",
        "error.$": `States.Format('{}', ${result}.code)`,
        "cause.$": `States.Format('{}', ${result}.reason)`,
      },
      earlier,
    );
    const failed = failure(
      `${name}Failed`,
      `${name} failed`,
      {
        kind: "failed",
        "error.$": `States.Format('{}', ${result}.code)`,
        "cause.$": `States.Format('{}', ${result}.reason)`,
      },
      fromHere,
    );
    const errored = failure(
      `${name}Errored`,
      `${name} errored`,
      { kind: "error", "error.$": "$.caught.Error", "cause.$": "$.caught.Cause" },
      fromHere,
    );
    const invalid = failure(
      `${name}Invalid`,
      `${name} returned no outcome`,
      {
        kind: "error",
        error: "Spool.InvalidStepResult",
        "cause.$": `States.JsonToString(${result})`,
      },
      fromHere,
    );

    const timeout = step.taskTimeout ?? this.props.stepTimeout;
    const task = new LambdaInvoke(this.scope, name, {
      lambdaFunction: step.function,
      retryOnServiceExceptions: false,
      resultPath: result,
      ...(timeout ? { taskTimeout: Timeout.duration(timeout) } : {}),
      ...(step.callback
        ? {
            // The function hands the token on and returns; the step's result is the output of
            // SendTaskSuccess (not wrapped), which the outcome check below reads as usual.
            integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload: this.payload(name, "action", true),
            ...(step.heartbeat ? { heartbeatTimeout: Timeout.duration(step.heartbeat) } : {}),
          }
        : { payloadResponseOnly: true, payload: this.payload(name, "action") }),
    });
    if (step.callback) this.addCallbackRetries(task, { ...this.stepRetry, ...step.retry });
    else this.addRetries(task, { ...this.stepRetry, ...step.retry });
    task.addCatch(errored, { errors: [Errors.ALL], resultPath: "$.caught" });

    const outcome = `${result}.outcome`;
    const hasReason = [
      Condition.isPresent(`${result}.code`),
      Condition.isPresent(`${result}.reason`),
    ];
    const check = new Choice(this.scope, `Check${name}`, { stateName: `Check ${name}` })
      .when(Condition.not(Condition.isPresent(outcome)), invalid)
      .when(Condition.stringEquals(outcome, "ok"), next)
      .when(Condition.and(Condition.stringEquals(outcome, "rejected"), ...hasReason), rejected)
      .when(Condition.and(Condition.stringEquals(outcome, "failed"), ...hasReason), failed)
      .otherwise(invalid);
    return task.next(check);
  }

  private compensationTask(step: SagaStep, onFailure: IChainable): LambdaInvoke {
    const { name } = step;
    const task = new LambdaInvoke(this.scope, `Undo${name}`, {
      stateName: `Undo ${name}`,
      lambdaFunction: step.compensation as IFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: this.payload(name, "compensation"),
      resultPath: `$.compensations.${name}`,
      ...(this.props.stepTimeout ? { taskTimeout: Timeout.duration(this.props.stepTimeout) } : {}),
    });
    this.addRetries(task, this.compensationRetry);
    const record = new Pass(this.scope, `Undo${name}Failed`, {
      stateName: `Undo ${name} failed`,
      parameters: {
        step: name,
        kind: "compensation",
        "error.$": "$.caught.Error",
        "cause.$": "$.caught.Cause",
      },
      resultPath: "$.compensationFailure",
    }).next(onFailure);
    task.addCatch(record, { errors: [Errors.ALL], resultPath: "$.caught" });
    return task;
  }

  private payload(step: string, phase: "action" | "compensation", callback = false): TaskInput {
    return TaskInput.fromObject({
      step,
      phase,
      ...(callback ? { taskToken: JsonPath.taskToken } : {}),
      ...(this.props.jobTable ? { jobId: JsonPath.stringAt("$.jobId") } : {}),
      correlationId: JsonPath.stringAt("$.correlationId"),
      request: JsonPath.objectAt("$.request"),
      results: JsonPath.objectAt("$.results"),
      execution: JsonPath.stringAt("$$.Execution.Id"),
      // Lets a function tell its attempts apart (fault injection uses it to fail N times).
      retryCount: JsonPath.numberAt("$$.State.RetryCount"),
      ...(this.props.faultInjection ? { faults: JsonPath.objectAt("$.faults") } : {}),
      ...(phase === "compensation" ? { failure: JsonPath.objectAt("$.failure") } : {}),
    });
  }

  private addRetries(task: LambdaInvoke | DynamoUpdateItem, retry: Required<SagaRetry>): void {
    // A PermanentError is never worth another attempt. Runtimes that keep error names honour
    // this; MiniStack reports every Lambda error as Runtime.HandlerError, which is why steps
    // return permanent failures as data rather than rely on it.
    task.addRetry({ errors: PERMANENT_ERRORS, maxAttempts: 0 });
    task.addRetry({
      errors: [Errors.TASKS_FAILED, Errors.TIMEOUT],
      interval: retry.interval,
      backoffRate: retry.backoffRate,
      maxAttempts: retry.maxAttempts,
      maxDelay: retry.maxDelay,
      jitterStrategy: JitterType.FULL,
    });
  }

  /**
   * A callback step retries only what re-asking can fix: its function failing to take the token
   * (a thrown error: the retry hands out a new token). The answers are final: a timeout or a
   * missed heartbeat means nobody answered in time, and a SendTaskFailure with
   * `Spool.Rejected` or `PermanentError` means someone said no; all of them compensate at once.
   */
  private addCallbackRetries(task: LambdaInvoke, retry: Required<SagaRetry>): void {
    task.addRetry({
      errors: [...PERMANENT_ERRORS, CALLBACK_REJECTED, Errors.HEARTBEAT_TIMEOUT, Errors.TIMEOUT],
      maxAttempts: 0,
    });
    task.addRetry({
      errors: [Errors.TASKS_FAILED],
      interval: retry.interval,
      backoffRate: retry.backoffRate,
      maxAttempts: retry.maxAttempts,
      maxDelay: retry.maxDelay,
      jitterStrategy: JitterType.FULL,
    });
  }

  private lastCompensableBefore(index: number): string {
    for (let i = index - 1; i >= 0; i--) {
      const step = this.props.steps[i];
      if (step?.compensation) return step.name;
    }
    return "none";
  }

  private recordJob(
    id: string,
    to: JobStatus,
    options: Omit<RecordJobOptions, "table" | "retry">,
  ): DynamoUpdateItem {
    return recordJobTask(this.scope, id, to, {
      ...options,
      table: this.props.jobTable as ITable,
      retry: this.stepRetry,
    });
  }
}

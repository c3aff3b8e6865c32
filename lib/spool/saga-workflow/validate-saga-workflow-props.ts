import { Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { invalid, requireInteger, requireName, requireSeconds } from "../runtime/validation.js";
import type { SagaRetry, SagaStep, SagaWorkflowProps } from "./saga-workflow-props.js";

const STEP_NAME = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
/** Step Functions' longest execution. */
const ONE_YEAR = 365 * 24 * 3600;

/**
 * Refuses props Step Functions would refuse at deployment (or that would make a saga that cannot
 * compensate), naming the workflow's path, the prop and the value.
 */
export function validateSagaWorkflowProps(
  scope: IConstruct,
  props: SagaWorkflowProps,
  stepRetry: Required<SagaRetry>,
  compensationRetry: Required<SagaRetry>,
): void {
  requireName(scope, "stateMachineName", props.stateMachineName, "stateMachine");
  if (!props.steps.length) invalid(scope, "steps must hold at least one step, got none");
  const seen = new Set<string>();
  for (const [i, step] of props.steps.entries()) {
    if (!STEP_NAME.test(step.name)) {
      invalid(
        scope,
        `steps[${i}].name must be 1–48 letters, digits or _ starting with a letter, got "${step.name}"`,
      );
    }
    if (seen.has(step.name)) {
      invalid(scope, `steps[${i}].name must be unique, got "${step.name}" twice`);
    }
    seen.add(step.name);
    if (step.retry) validateRetry(scope, `steps[${i}].retry`, { ...stepRetry, ...step.retry });
  }
  validateRetry(scope, "stepRetry", stepRetry);
  validateRetry(scope, "compensationRetry", compensationRetry);
  const timeout = requireSeconds(
    scope,
    "timeout",
    props.timeout,
    1,
    ONE_YEAR,
    "from 1 second to 1 year",
  );
  const stepTimeout = requireSeconds(
    scope,
    "stepTimeout",
    props.stepTimeout,
    1,
    Number.POSITIVE_INFINITY,
    "a whole number of seconds, at least 1",
    { wholeSeconds: true },
  );
  if (stepTimeout !== undefined && timeout !== undefined && stepTimeout > timeout) {
    invalid(scope, `stepTimeout must not exceed timeout (${timeout} s), got ${stepTimeout} s`);
  }
  for (const [i, step] of props.steps.entries()) validateWaiting(scope, i, step, timeout);
}

/**
 * A callback step's wait: bounded (an unanswered step must end, and compensate, on its own),
 * within the execution's timeout, and with a heartbeat shorter than the wait. A heartbeat on a
 * request-response step is refused: its function holds no token to send heartbeats with, so
 * HeartbeatSeconds would only act as a second, shorter timeout.
 */
function validateWaiting(
  scope: IConstruct,
  i: number,
  step: SagaStep,
  timeout: number | undefined,
): void {
  const prop = `steps[${i}]`;
  const wholeSeconds = "a whole number of seconds, at least 1";
  const taskTimeout = requireSeconds(
    scope,
    `${prop}.taskTimeout`,
    step.taskTimeout,
    1,
    Number.POSITIVE_INFINITY,
    wholeSeconds,
    { wholeSeconds: true },
  );
  if (taskTimeout !== undefined && timeout !== undefined && taskTimeout > timeout) {
    invalid(
      scope,
      `${prop}.taskTimeout must not exceed timeout (${timeout} s), got ${taskTimeout} s`,
    );
  }
  if (step.callback && step.taskTimeout === undefined) {
    invalid(
      scope,
      `${prop}.taskTimeout is required with callback (how long "${step.name}" waits for its answer before it compensates), got none`,
    );
  }
  if (step.heartbeat === undefined) return;
  if (!step.callback) {
    invalid(
      scope,
      `${prop}.heartbeat needs callback: true (a request-response function holds no task token to send heartbeats with; bound it with taskTimeout), got ${step.heartbeat.toHumanString()} on "${step.name}"`,
    );
  }
  const heartbeat = requireSeconds(
    scope,
    `${prop}.heartbeat`,
    step.heartbeat,
    1,
    Number.POSITIVE_INFINITY,
    wholeSeconds,
    { wholeSeconds: true },
  );
  if (heartbeat !== undefined && taskTimeout !== undefined && heartbeat >= taskTimeout) {
    invalid(
      scope,
      `${prop}.heartbeat must be shorter than ${prop}.taskTimeout (${taskTimeout} s), got ${heartbeat} s`,
    );
  }
}

function validateRetry(scope: IConstruct, prop: string, retry: Required<SagaRetry>): void {
  const wholeSeconds = "a whole number of seconds, at least 1";
  const interval = requireSeconds(
    scope,
    `${prop}.interval`,
    retry.interval,
    1,
    Number.POSITIVE_INFINITY,
    wholeSeconds,
    { wholeSeconds: true },
  );
  if (!Token.isUnresolved(retry.backoffRate) && !(retry.backoffRate >= 1)) {
    invalid(scope, `${prop}.backoffRate must be at least 1, got ${retry.backoffRate}`);
  }
  requireInteger(scope, `${prop}.maxAttempts`, retry.maxAttempts, 0, 99);
  const maxDelay = requireSeconds(
    scope,
    `${prop}.maxDelay`,
    retry.maxDelay,
    1,
    Number.POSITIVE_INFINITY,
    wholeSeconds,
    { wholeSeconds: true },
  );
  if (maxDelay !== undefined && interval !== undefined && maxDelay < interval) {
    invalid(
      scope,
      `${prop}.maxDelay must be at least the interval (${interval} s), got ${maxDelay} s`,
    );
  }
}

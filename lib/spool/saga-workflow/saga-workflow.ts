import { Annotations, Duration, Names, RemovalPolicy } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { Grant, IGrantable } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import {
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import {
  acknowledgeWildcardResources,
  onlyActions,
  RESOURCELESS_ACTIONS_RULE,
  type SpoolFunction,
  type WildcardRule,
} from "../spool-function/index.js";
import { sagaDefinition } from "./saga-definition.js";
import type { SagaRetry, SagaWorkflowProps } from "./saga-workflow-props.js";
import { addStatusSync } from "./status-sync.js";
import { validateSagaWorkflowProps } from "./validate-saga-workflow-props.js";

/**
 * The execution-level grants (describe, history, stop) a state machine gives out: executions are
 * named at run time, so their ARNs end in a wildcard under this state machine only.
 */
export const SAGA_EXECUTIONS_RULE: WildcardRule = {
  matches: (resource, actions) =>
    resource.includes(":execution:") &&
    resource.endsWith(":*") &&
    onlyActions(["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"])(
      actions,
    ),
  reason:
    "Executions are named at run time (from the business key); the grant covers only the executions of this saga's state machine.",
};

const DEFAULT_STEP_RETRY: Required<SagaRetry> = {
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 3,
  maxDelay: Duration.seconds(30),
};
const DEFAULT_COMPENSATION_RETRY: Required<SagaRetry> = {
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 8,
  maxDelay: Duration.minutes(2),
};

/**
 * A Standard Step Functions state machine that runs steps in order and, when one fails for
 * good, undoes the completed ones in reverse order (a saga).
 *
 * - A step returns its business outcome as data: `ok` goes on; `rejected` (payment declined)
 *   compensates the steps before it; `failed` (a permanent error) compensates it too. None is
 *   retried, whatever the runtime does with error names.
 * - A thrown error is transient: retried with exponential backoff, a maximum delay and full
 *   jitter, a bounded number of times, then caught and compensated like `failed`.
 * - Compensations run newest first, each retried longer; if one still fails the execution ends
 *   COMPENSATION_FAILED. Otherwise it ends COMPENSATED with the cause.
 * - Logging (ALL) to a log group with retention, X-Ray tracing, alarms on failed, timed-out and
 *   aborted executions, and optional job state in a job table.
 *
 * Input: `{ "correlationId": "…", "request": {…}, "jobId": "…" (with jobTable), "faults": {…}
 * (test deployments) }`.
 */
export class SagaWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  /** The longest an execution may run before it ends TIMED_OUT. */
  readonly timeout: Duration;
  /** ExecutionsFailed ≥ 1 in a minute (includes COMPENSATED runs: a saga that did not complete). */
  readonly failedExecutionsAlarm: Alarm;
  readonly timedOutExecutionsAlarm: Alarm;
  /**
   * ExecutionsAborted ≥ 1 in a minute: someone stopped a run. A stop skips compensation, so the
   * effects of the steps it completed stay until an operator undoes them.
   */
  readonly abortedExecutionsAlarm: Alarm;
  /** Records stopped and timed-out executions in the job table (with jobTable). */
  readonly statusSync?: SpoolFunction;
  /** Where status change events go when the listener keeps failing (with jobTable). */
  readonly statusSyncDeadLetterQueue?: Queue;

  constructor(scope: Construct, id: string, props: SagaWorkflowProps) {
    super(scope, id);
    acknowledgeWildcardResources(this, [
      RESOURCELESS_ACTIONS_RULE,
      SAGA_EXECUTIONS_RULE,
      {
        // LambdaInvoke grants the function and its versions/aliases (ARN:*), nothing else.
        matches: (resource, actions) =>
          resource.endsWith(".Arn>:*") && onlyActions(["lambda:InvokeFunction"])(actions),
        reason:
          "The state machine may invoke its step functions and their versions or aliases (function ARN plus ':*'), and no other function.",
      },
    ]);
    const stepRetry = { ...DEFAULT_STEP_RETRY, ...props.stepRetry };
    const compensationRetry = { ...DEFAULT_COMPENSATION_RETRY, ...props.compensationRetry };
    validateSagaWorkflowProps(this, props, stepRetry, compensationRetry);

    const timeout = props.timeout ?? Duration.hours(1);
    this.timeout = timeout;
    this.logGroup = new LogGroup(this, "Logs", {
      // The vendedlogs prefix keeps the log group out of CloudWatch Logs' resource policy limit.
      logGroupName: `/aws/vendedlogs/states/${Names.uniqueResourceName(this, { maxLength: 200, separator: "-" })}`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, "StateMachine", {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        sagaDefinition(this, props, { step: stepRetry, compensation: compensationRetry }),
      ),
      timeout,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: props.logLevel ?? LogLevel.ALL,
        includeExecutionData: true,
      },
    });

    // Plain metric alarms (no metric math): simple to read, and every emulator provisions them.
    const alarmProps = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    this.failedExecutionsAlarm = new Alarm(this, "ExecutionsFailedAlarm", {
      ...alarmProps,
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(1), statistic: "Sum" }),
      alarmDescription:
        "Saga executions failed: compensated (did not complete), compensation failed, or errored",
    });
    this.timedOutExecutionsAlarm = new Alarm(this, "ExecutionsTimedOutAlarm", {
      ...alarmProps,
      metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(1), statistic: "Sum" }),
      alarmDescription: `Saga executions ran longer than ${timeout.toHumanString()}`,
    });
    this.abortedExecutionsAlarm = new Alarm(this, "ExecutionsAbortedAlarm", {
      ...alarmProps,
      metric: this.stateMachine.metricAborted({ period: Duration.minutes(1), statistic: "Sum" }),
      alarmDescription:
        "Saga executions were stopped: a stop skips compensation, so the effects of completed steps may be left behind",
    });

    if (props.jobTable) {
      const { fn, deadLetterQueue } = addStatusSync(this, props.jobTable, this.stateMachine);
      this.statusSync = fn;
      this.statusSyncDeadLetterQueue = deadLetterQueue;
    }
    if (props.steps.some((s) => s.callback) && !props.jobTable) {
      Annotations.of(this).addWarningV2(
        "spool:callbackWithoutJobTable",
        "SagaWorkflow has a callback step but no jobTable: its function must keep the task token somewhere an approver can find it",
      );
    }
    if (!props.steps.some((s) => s.compensation)) {
      Annotations.of(this).addWarningV2(
        "spool:sagaWithoutCompensation",
        "SagaWorkflow has no step with a compensation: a failure undoes nothing",
      );
    }
  }

  /**
   * Lets `grantee` answer this saga's waiting callback steps: `states:SendTaskSuccess`,
   * `SendTaskFailure` and `SendTaskHeartbeat`, with this state machine's ARN as the resource
   * (CDK's grantTaskResponse): the narrowest scope IAM offers for a task token, never `*`.
   */
  grantTaskResponse(grantee: IGrantable): Grant {
    return this.stateMachine.grantTaskResponse(grantee);
  }
}

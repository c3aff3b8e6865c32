import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  type IMetric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { requireInteger } from "../runtime/validation.js";
import { SagaWorkflow } from "./saga-workflow.js";

/** What SpoolMonitoring does with a SagaWorkflow's alarms. */
export interface WorkflowAlarmOptions {
  /**
   * Route the workflow's own alarms (failed, timed-out and aborted executions) to the platform's
   * alarm topic and add the status listener's dead-letter alarm. Without it the workflow gets its
   * dashboard row only; its own alarms stay as they are.
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when the status listener's dead-letter queue (execution status changes that could not
   * be recorded in the job table) holds more than this many events: those jobs still show their
   * old status.
   * @default 0 - any undelivered status change
   */
  readonly maxStatusSyncDeadLetters?: number;
}

/** Monitoring of one workflow: its options and, optionally, the name it goes by. */
export interface WorkflowMonitoringOptions extends WorkflowAlarmOptions {
  /**
   * The workflow's name in alarm names and on the dashboard.
   * @default - its construct id in kebab case, with parent ids added when two share one
   */
  readonly name?: string;
}

const MINUTE = Duration.minutes(1);

function validate(
  scope: IConstruct | undefined,
  prefix: string,
  options: WorkflowAlarmOptions,
): void {
  requireInteger(scope, `${prefix}maxStatusSyncDeadLetters`, options.maxStatusSyncDeadLetters, 0);
}

/**
 * Workflows: every SagaWorkflow in the stack. Register it with
 * `monitoring.addKind(workflowKind())`.
 *
 * A SagaWorkflow already owns plain metric alarms on failed, timed-out and aborted executions
 * (`AWS/States`, dimension `StateMachineArn`), so they work without SpoolMonitoring. This kind
 * does not create a second set: it adopts those three (named `<stack>-workflow-<name>-failed` and
 * so on, their actions on the platform topic, listed on the dashboard) and adds only what the
 * workflow does not watch itself, the status listener's dead letters.
 */
export function workflowKind(
  defaults: WorkflowAlarmOptions = {},
): ResourceKind<SagaWorkflow, WorkflowMonitoringOptions> {
  validate(undefined, "workflowAlarms.", defaults);
  return {
    name: "workflow",
    title: "Workflows",
    matches: (construct: IConstruct): construct is SagaWorkflow =>
      construct instanceof SagaWorkflow,
    monitor(saga, context, options) {
      validate(saga, "", options ?? {});
      const o = { alarms: true, maxStatusSyncDeadLetters: 0, ...defaults, ...options };
      const machine = saga.stateMachine;
      const sum = (label: string) => ({ statistic: "Sum", period: MINUTE, label });
      const executions: IMetric[] = [
        machine.metricStarted(sum("started")),
        machine.metricSucceeded(sum("succeeded")),
        machine.metricFailed(sum("failed (incl. compensated)")),
        machine.metricTimedOut(sum("timed out")),
        machine.metricAborted(sum("aborted")),
      ];
      const time = (statistic: string, label: string) =>
        machine.metricTime({ statistic, period: MINUTE, label });
      const timeLimit: HorizontalAnnotation[] = [
        { value: saga.timeout.toMilliseconds(), label: "timeout", color: "#d62728" },
      ];

      const deadLetterQueue = saga.statusSyncDeadLetterQueue;
      const deadLetters = deadLetterQueue?.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "status changes not recorded",
      });
      const deadLetterLimit: HorizontalAnnotation[] = [];
      if (o.alarms) {
        context.adoptAlarm("failed", saga.failedExecutionsAlarm);
        context.adoptAlarm("timed-out", saga.timedOutExecutionsAlarm);
        context.adoptAlarm("aborted", saga.abortedExecutionsAlarm);
        if (deadLetterQueue && deadLetters) {
          const alarm = context.addAlarm("status-sync-dead-letters", {
            alarmDescription: `${deadLetterQueue.queueName} holds more than ${o.maxStatusSyncDeadLetters} execution status changes the job table never got: those jobs still show their old status (spool jobs show <id> also reads the execution).`,
            metric: deadLetters,
            threshold: o.maxStatusSyncDeadLetters,
            comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
            evaluationPeriods: 1,
          });
          deadLetterLimit.push(alarm.toAnnotation());
        }
      }

      const width = deadLetters ? 8 : 12;
      context.addWidgets(
        new GraphWidget({ title: `${context.name}: executions`, left: executions, width }),
        new GraphWidget({
          title: `${context.name}: execution time (ms)`,
          left: [time("p50", "p50"), time("p90", "p90"), time("Maximum", "longest")],
          leftAnnotations: timeLimit,
          width,
        }),
        ...(deadLetters
          ? [
              new GraphWidget({
                title: `${context.name}: job status changes not recorded`,
                left: [deadLetters],
                leftAnnotations: deadLetterLimit,
                width,
              }),
            ]
          : []),
      );
    },
  };
}

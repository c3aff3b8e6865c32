import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { requireInteger } from "../runtime/validation.js";
import { DelayedTasks } from "./delayed-tasks.js";

/** Alarm thresholds for a DelayedTasks construct's one-time schedules. */
export interface DelayedTasksAlarmOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when the dead-letter queue holds more than this many tasks the Scheduler could not
   * deliver to their target (after its retries).
   * @default 0 - any undelivered task
   */
  readonly maxUndeliveredTasks?: number;
}

/** Monitoring of one DelayedTasks construct: its thresholds and, optionally, its name. */
export interface DelayedTasksMonitoringOptions extends DelayedTasksAlarmOptions {
  /**
   * Its name in alarm names and on the dashboard.
   * @default - its construct id in kebab case, with parent ids added when two share one
   */
  readonly name?: string;
}

const MINUTE = Duration.minutes(1);

function validate(
  scope: IConstruct | undefined,
  prefix: string,
  options: DelayedTasksAlarmOptions,
): void {
  requireInteger(scope, `${prefix}maxUndeliveredTasks`, options.maxUndeliveredTasks, 0);
}

/**
 * Delayed tasks: every DelayedTasks construct in the stack. Register it with
 * `monitoring.addKind(delayedTasksKind())`.
 *
 * A task due within 15 minutes travels as a delayed SQS message (a failed send fails
 * `scheduleTask` itself); a later one as a one-time Scheduler schedule, whose target failures
 * end in the construct's dead-letter queue after the Scheduler's retries. Alarms: that queue
 * holds a task (`target-failures`), and the Scheduler could not even dead-letter one
 * (`dead-letter-failures`, per schedule group: such a task is lost).
 */
export function delayedTasksKind(
  defaults: DelayedTasksAlarmOptions = {},
): ResourceKind<DelayedTasks, DelayedTasksMonitoringOptions> {
  validate(undefined, "delayedTasksAlarms.", defaults);
  return {
    name: "delayed-tasks",
    title: "Delayed tasks",
    matches: (construct: IConstruct): construct is DelayedTasks =>
      construct instanceof DelayedTasks,
    monitor(tasks, context, options) {
      validate(tasks, "", options ?? {});
      const o = { alarms: true, maxUndeliveredTasks: 0, ...defaults, ...options };
      const group = tasks.scheduleGroup;
      const groupName = group.scheduleGroupName;
      const sum = (label: string) => ({ statistic: "Sum", period: MINUTE, label });
      const failedToDeadLetter = group.metricFailedToBeSentToDLQ(
        undefined,
        sum("could not be dead-lettered (lost)"),
      );
      const undelivered = tasks.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "undelivered tasks (DLQ)",
      });
      const limits: HorizontalAnnotation[] = [];
      if (o.alarms) {
        const alarm = context.addAlarm("target-failures", {
          alarmDescription: `The Scheduler could not deliver more than ${o.maxUndeliveredTasks} delayed tasks of schedule group ${groupName} to their target; they wait in ${tasks.deadLetterQueue.queueName} with the Scheduler's error attributes.`,
          metric: undelivered,
          threshold: o.maxUndeliveredTasks,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        limits.push(alarm.toAnnotation());
        context.addAlarm("dead-letter-failures", {
          alarmDescription: `The Scheduler could neither deliver nor dead-letter a task of schedule group ${groupName}: the task is lost. Check that its role may still send to the dead-letter queue.`,
          metric: failedToDeadLetter,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
      }
      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: one-time schedules (group ${groupName})`,
          left: [
            group.metricAttempts(sum("delivery attempts")),
            group.metricTargetErrors(sum("target errors")),
            group.metricTargetThrottled(sum("target throttled")),
            group.metricSentToDLQ(sum("sent to DLQ")),
            failedToDeadLetter,
            group.metricDropped(sum("dropped")),
          ],
          width: 12,
        }),
        new GraphWidget({
          title: `${context.name}: undelivered tasks`,
          left: [undelivered],
          leftAnnotations: limits,
          width: 12,
        }),
      );
    },
  };
}

import { Duration, Token } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { requireInteger } from "../runtime/validation.js";
import { RecurringJob } from "./recurring-job.js";

/** Alarm thresholds for a recurring job's schedule. */
export interface RecurringJobAlarmOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when the job's dead-letter queue (its target queue's) holds more than this many
   * messages: runs the Scheduler could not deliver, and runs the worker gave up on.
   * @default 0 - any
   */
  readonly maxUndeliveredRuns?: number;
}

/** Monitoring of one recurring job: its thresholds and, optionally, its name. */
export interface RecurringJobMonitoringOptions extends RecurringJobAlarmOptions {
  /**
   * The job's name in alarm names and on the dashboard.
   * @default - its jobName
   */
  readonly name?: string;
}

const MINUTE = Duration.minutes(1);

function validate(
  scope: IConstruct | undefined,
  prefix: string,
  options: RecurringJobAlarmOptions,
): void {
  requireInteger(scope, `${prefix}maxUndeliveredRuns`, options.maxUndeliveredRuns, 0);
}

/**
 * Recurring jobs: every RecurringJob in the stack. Register it with
 * `monitoring.addKind(recurringJobKind())`.
 *
 * A run the Scheduler cannot deliver goes, after its retries, to the target queue's dead-letter
 * queue: the alarm `target-failures` watches it. Several jobs usually share one target queue,
 * and its ReliableQueue already has a `dead-letters` alarm on the same metric; SpoolMonitoring
 * creates an alarm once per condition, so the jobs reuse that one rather than page again for
 * the same message. `dead-letter-failures` (runs the Scheduler could not even dead-letter) is
 * per schedule group and shared the same way.
 */
export function recurringJobKind(
  defaults: RecurringJobAlarmOptions = {},
): ResourceKind<RecurringJob, RecurringJobMonitoringOptions> {
  validate(undefined, "recurringJobAlarms.", defaults);
  return {
    name: "recurring-job",
    title: "Recurring jobs",
    matches: (construct: IConstruct): construct is RecurringJob =>
      construct instanceof RecurringJob,
    nameOf: (job) => (Token.isUnresolved(job.jobName) ? undefined : job.jobName),
    monitor(job, context, options) {
      validate(job, "", options ?? {});
      const o = { alarms: true, maxUndeliveredRuns: 0, ...defaults, ...options };
      const groupName = job.scheduleGroupName;
      const scheduler = (metricName: string, label: string) =>
        new Metric({
          namespace: "AWS/Scheduler",
          metricName,
          dimensionsMap: { ScheduleGroup: groupName },
          statistic: "Sum",
          period: MINUTE,
          label,
        });
      const failedToDeadLetter = scheduler(
        "InvocationsFailedToBeSentToDeadLetterCount",
        "could not be dead-lettered (lost)",
      );
      const undelivered = job.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "dead letters of the job's queue",
      });
      const limits: HorizontalAnnotation[] = [];
      if (o.alarms) {
        const alarm = context.addAlarm("target-failures", {
          alarmDescription: `${job.deadLetterQueue.queueName} holds more than ${o.maxUndeliveredRuns} messages: runs of ${job.jobName} the Scheduler could not deliver, or runs its worker gave up on (spool dlq list, spool runs ${job.jobName}).`,
          metric: undelivered,
          threshold: o.maxUndeliveredRuns,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        limits.push(alarm.toAnnotation());
        context.addAlarm("dead-letter-failures", {
          alarmDescription: `The Scheduler could neither deliver nor dead-letter a run of schedule group ${groupName}: the run is lost (backfill it with spool backfill). Check that the schedules' role may still send to the dead-letter queue.`,
          metric: failedToDeadLetter,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
      }
      context.addWidgets(
        new GraphWidget({
          // The Scheduler publishes per schedule group, not per schedule.
          title: `${context.name}: schedule group ${groupName} (all its schedules)`,
          left: [
            scheduler("InvocationAttemptCount", "delivery attempts"),
            scheduler("TargetErrorCount", "target errors"),
            scheduler("InvocationsSentToDeadLetterCount", "sent to DLQ"),
            failedToDeadLetter,
            scheduler("InvocationDroppedCount", "dropped"),
          ],
          width: 12,
        }),
        new GraphWidget({
          title: `${context.name}: undelivered runs`,
          left: [undelivered],
          leftAnnotations: limits,
          width: 12,
        }),
      );
    },
  };
}

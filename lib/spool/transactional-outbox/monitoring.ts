import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { requireInteger, requireSeconds } from "../runtime/validation.js";
import { TransactionalOutbox } from "./transactional-outbox.js";

/** Alarm thresholds for a transactional outbox. */
export interface OutboxAlarmOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when the outbox's dead-letter queue holds more than this many messages: events the bus
   * refused for good (or too large), and stream batches given up after their retries.
   * @default 0 - any
   */
  readonly maxDeadLetters?: number;
  /**
   * Alarm when the oldest stream record the publisher reads is older than this for 3 of 5
   * minutes: committed events are waiting to reach the bus.
   * @default Duration.minutes(5)
   */
  readonly maxPublishLag?: Duration;
}

/** Monitoring of one outbox: its thresholds and, optionally, its name. */
export interface OutboxMonitoringOptions extends OutboxAlarmOptions {
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
  options: OutboxAlarmOptions,
): void {
  requireInteger(scope, `${prefix}maxDeadLetters`, options.maxDeadLetters, 0);
  requireSeconds(
    scope,
    `${prefix}maxPublishLag`,
    options.maxPublishLag,
    60,
    Number.POSITIVE_INFINITY,
    "at least 1 minute",
  );
}

/**
 * Outboxes: every TransactionalOutbox in the stack. Register it with
 * `monitoring.addKind(outboxKind())`.
 *
 * Alarms: its dead-letter queue holds something (`dead-letters`), the publisher crashed or timed
 * out (`publisher-errors`; record failures are reported in its batch response, not as errors),
 * and committed events are late to reach the bus (`publish-lag`, the stream's IteratorAge).
 */
export function outboxKind(
  defaults: OutboxAlarmOptions = {},
): ResourceKind<TransactionalOutbox, OutboxMonitoringOptions> {
  validate(undefined, "outboxAlarms.", defaults);
  return {
    name: "outbox",
    title: "Outboxes",
    matches: (construct: IConstruct): construct is TransactionalOutbox =>
      construct instanceof TransactionalOutbox,
    monitor(outbox, context, options) {
      validate(outbox, "", options ?? {});
      const o = {
        alarms: true,
        maxDeadLetters: 0,
        maxPublishLag: Duration.minutes(5),
        ...defaults,
        ...options,
      };
      const fn = outbox.publisher;
      const deadLetters = outbox.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "dead letters",
      });
      const errors = fn.metricErrors({ statistic: "Sum", period: MINUTE, label: "errors" });
      const lag = fn.metric("IteratorAge", {
        statistic: "Maximum",
        period: MINUTE,
        label: "oldest unpublished (ms)",
      });
      const deadLimit: HorizontalAnnotation[] = [];
      const lagLimit: HorizontalAnnotation[] = [];
      if (o.alarms) {
        const dead = context.addAlarm("dead-letters", {
          alarmDescription: `${outbox.deadLetterQueue.queueName} holds more than ${o.maxDeadLetters} messages: events the bus refused for good, or stream batches given up (their rows stay PENDING; re-put them to publish again).`,
          metric: deadLetters,
          threshold: o.maxDeadLetters,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        deadLimit.push(dead.toAnnotation());
        context.addAlarm("publisher-errors", {
          alarmDescription:
            "The outbox publisher crashed or timed out (failed records are reported in its batch response, not as errors): its stream batch is retried.",
          metric: errors,
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        const late = context.addAlarm("publish-lag", {
          alarmDescription: `Committed events waited more than ${o.maxPublishLag.toHumanString()} to be published (3 of 5 minutes): the publisher is failing or falling behind.`,
          metric: lag,
          threshold: o.maxPublishLag.toMilliseconds(),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
        });
        lagLimit.push(late.toAnnotation());
      }
      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: publisher`,
          left: [
            fn.metricInvocations({ statistic: "Sum", period: MINUTE, label: "invocations" }),
            errors,
          ],
          width: 8,
        }),
        new GraphWidget({
          title: `${context.name}: publish lag`,
          left: [lag],
          leftAnnotations: lagLimit,
          width: 8,
        }),
        new GraphWidget({
          title: `${context.name}: dead letters`,
          left: [deadLetters],
          leftAnnotations: deadLimit,
          width: 8,
        }),
      );
    },
  };
}

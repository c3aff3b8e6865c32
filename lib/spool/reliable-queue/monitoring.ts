import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { requireDuration, requireInteger } from "../runtime/validation.js";
import {
  addDeadLetterExpiryAlarms,
  type DeadLetterExpiryOptions,
  validateExpiryMargins,
} from "./dead-letter-expiry.js";
import { ReliableQueue } from "./reliable-queue.js";

/** Alarm thresholds for a queue and its dead-letter queue. */
export interface QueueAlarmOptions extends DeadLetterExpiryOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Depth: alarm when more messages than this are visible (waiting) for 3 of 5 minutes.
   * @default 1000
   */
  readonly maxVisibleMessages?: number;
  /**
   * Staleness: alarm when the oldest message has waited longer than this for 3 of 5 minutes.
   * On a standard queue SQS leaves out of this metric a message received three or more times
   * (a poison message cycling through retries), so it cannot be the only signal: the time to
   * drain and the dead-letter alarms cover what it misses.
   * @default Duration.minutes(15)
   */
  readonly maxAgeOfOldestMessage?: Duration;
  /**
   * Time to drain: alarm when the visible backlog divided by the recent processing rate
   * (messages deleted per second) exceeds this for 3 of 5 minutes. A backlog with no
   * processing at all counts as the queue's retention period.
   * @default Duration.minutes(15)
   */
  readonly maxTimeToDrain?: Duration;
  /**
   * Dead letters: alarm when more than this many are visible in the dead-letter queue.
   * @default 0 - any dead letter
   */
  readonly maxDeadLetters?: number;
  /**
   * Dead-letter growth: alarm when the dead-letter queue holds more than this many messages
   * above its lowest count within the growth window (SpoolMonitoring's
   * `deadLetterGrowthWindow`). Catches a new wave of failures while older dead letters keep
   * the `maxDeadLetters` alarm in ALARM already.
   * @default 0 - any growth
   */
  readonly maxDeadLetterGrowth?: number;
}

/** Monitoring of one queue: its thresholds and, optionally, the name it goes by. */
export interface QueueMonitoringOptions extends QueueAlarmOptions {
  /**
   * The queue's name in alarm names and on the dashboard.
   * @default - its construct id in kebab case, with parent ids added when two queues share one
   */
  readonly name?: string;
}

export const QUEUE_ALARM_DEFAULTS = {
  alarms: true,
  maxVisibleMessages: 1_000,
  maxAgeOfOldestMessage: Duration.minutes(15),
  maxTimeToDrain: Duration.minutes(15),
  maxDeadLetters: 0,
  maxDeadLetterGrowth: 0,
  deadLetterExpiry: true,
  deadLetterExpiryWarning: true,
  // The expiry margins default to shares of each DLQ's own retention (dead-letter-expiry.ts).
} as const satisfies Required<
  Omit<QueueAlarmOptions, "deadLetterExpiryMargin" | "deadLetterExpiryWarningMargin">
>;

export function validateQueueAlarmOptions(
  scope: IConstruct | undefined,
  prefix: string,
  options: QueueAlarmOptions = {},
): void {
  requireInteger(
    scope,
    `${prefix}maxVisibleMessages`,
    options.maxVisibleMessages,
    1,
    1_000_000_000,
  );
  // SQS publishes its metrics once a minute: a shorter threshold would alarm on any message.
  requireDuration(
    scope,
    `${prefix}maxAgeOfOldestMessage`,
    options.maxAgeOfOldestMessage,
    60,
    14 * 86_400,
  );
  requireDuration(scope, `${prefix}maxTimeToDrain`, options.maxTimeToDrain, 60, 14 * 86_400);
  requireInteger(scope, `${prefix}maxDeadLetters`, options.maxDeadLetters, 0, 1_000_000_000);
  requireInteger(
    scope,
    `${prefix}maxDeadLetterGrowth`,
    options.maxDeadLetterGrowth,
    0,
    1_000_000_000,
  );
  validateExpiryMargins(scope, prefix, options);
}

const MINUTE = Duration.minutes(1);
/** A condition that must hold a while before it pages: 3 of the last 5 minutes. */
const SUSTAINED = { evaluationPeriods: 5, datapointsToAlarm: 3 } as const;

/**
 * Queues: every ReliableQueue in the stack, with alarms on depth, age of the oldest message,
 * estimated time to drain, dead letters, dead-letter growth and dead letters nearing expiry,
 * and a dashboard row each.
 */
export function queueKind(
  defaults: QueueAlarmOptions = {},
): ResourceKind<ReliableQueue, QueueMonitoringOptions> {
  validateQueueAlarmOptions(undefined, "queueAlarms.", defaults);
  return {
    name: "queue",
    title: "Queues",
    matches: (construct: IConstruct): construct is ReliableQueue =>
      construct instanceof ReliableQueue,
    monitor(resource, context, options) {
      validateQueueAlarmOptions(resource, "", options);
      const o = { ...QUEUE_ALARM_DEFAULTS, ...defaults, ...options };
      const { queue, deadLetterQueue } = resource;
      context.sampleQueue(queue, deadLetterQueue);

      const visible = queue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "visible",
      });
      const inFlight = queue.metricApproximateNumberOfMessagesNotVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "in flight",
      });
      const delayed = queue.metricApproximateNumberOfMessagesDelayed({
        statistic: "Maximum",
        period: MINUTE,
        label: "delayed",
      });
      const oldest = queue.metricApproximateAgeOfOldestMessage({
        statistic: "Maximum",
        period: MINUTE,
        label: "age of oldest (s)",
      });
      const deleted = queue.metricNumberOfMessagesDeleted({
        statistic: "Sum",
        period: Duration.minutes(5),
      });
      const drain = new Metric({
        namespace: context.namespace,
        metricName: "EstimatedSecondsToDrain",
        dimensionsMap: { QueueName: queue.queueName },
        statistic: "Maximum",
        period: MINUTE,
        label: "estimated seconds to drain (sampled)",
      });
      const deadLetters = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "dead letters",
      });
      const oldestDeadLetter = deadLetterQueue.metricApproximateAgeOfOldestMessage({
        statistic: "Maximum",
        period: Duration.minutes(5),
        label: "age of oldest dead letter (s)",
      });
      const growth = new Metric({
        namespace: context.namespace,
        metricName: "DeadLetterQueueGrowth",
        dimensionsMap: { QueueName: deadLetterQueue.queueName },
        statistic: "Maximum",
        period: MINUTE,
        label: "growth in window",
      });

      const annotations: Record<string, HorizontalAnnotation[]> = {
        visible: [],
        age: [],
        drain: [],
        dead: [],
        expiry: [],
      };
      if (o.alarms) {
        const visibleAlarm = context.addAlarm("depth", {
          alarmDescription: `More than ${o.maxVisibleMessages} messages waiting in ${queue.queueName} for 3 of 5 minutes: consumers are not keeping up, or not running.`,
          metric: visible,
          threshold: o.maxVisibleMessages,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          ...SUSTAINED,
        });
        annotations.visible?.push(visibleAlarm.toAnnotation());
        const ageAlarm = context.addAlarm("age-of-oldest", {
          alarmDescription: `A message in ${queue.queueName} has waited more than ${o.maxAgeOfOldestMessage.toHumanString()} for 3 of 5 minutes. (On standard queues SQS leaves messages received 3+ times out of this metric: see the drain and dead-letter alarms too.)`,
          metric: oldest,
          threshold: o.maxAgeOfOldestMessage.toSeconds(),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          ...SUSTAINED,
        });
        annotations.age?.push(ageAlarm.toAnnotation());
        const drainAlarm = context.addAlarm("time-to-drain", {
          alarmDescription: `At the recent processing rate the backlog of ${queue.queueName} takes more than ${o.maxTimeToDrain.toHumanString()} to drain (3 of 5 minutes).`,
          metric: drain,
          threshold: o.maxTimeToDrain.toSeconds(),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          ...SUSTAINED,
        });
        annotations.drain?.push(drainAlarm.toAnnotation());
        const deadAlarm = context.addAlarm("dead-letters", {
          alarmDescription: `${deadLetterQueue.queueName} holds more than ${o.maxDeadLetters} dead letters: inspect them with \`spool dlq list\`, fix the cause, then \`spool dlq replay\`.`,
          metric: deadLetters,
          threshold: o.maxDeadLetters,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        annotations.dead?.push(deadAlarm.toAnnotation());
        context.addAlarm("dead-letter-growth", {
          alarmDescription: `${deadLetterQueue.queueName} grew by more than ${o.maxDeadLetterGrowth} messages within the growth window: new failures are arriving.`,
          metric: growth,
          threshold: o.maxDeadLetterGrowth,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        const expiry = addDeadLetterExpiryAlarms(
          resource,
          context,
          { ...o, queueName: deadLetterQueue.queueName },
          oldestDeadLetter,
          resource.deadLetterRetentionPeriod,
        );
        annotations.expiry?.push(...expiry.map((a) => a.toAnnotation()));
      }

      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: backlog`,
          left: [visible, inFlight, delayed],
          leftAnnotations: annotations.visible,
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: age of oldest message`,
          left: [oldest],
          leftAnnotations: annotations.age,
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: time to drain (s)`,
          left: [
            drain,
            // Drawn from SQS's own metrics; an alarm cannot use math everywhere Spool deploys
            // (MiniStack refuses math alarms), so the alarm watches the sampled metric instead.
            new MathExpression({
              expression: "visible / (deleted / PERIOD(deleted))",
              usingMetrics: { visible: visible.with({ period: Duration.minutes(5) }), deleted },
              label: "backlog ÷ deletes per second (SQS metrics)",
              period: Duration.minutes(5),
            }),
          ],
          leftAnnotations: annotations.drain,
          width: 6,
        }),
        new GraphWidget({
          title: `${context.name}: dead letters`,
          left: [deadLetters, growth],
          leftAnnotations: annotations.dead,
          right: [oldestDeadLetter],
          rightAnnotations: annotations.expiry,
          width: 6,
        }),
      );
    },
  };
}

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
import { EventSubscription } from "./event-subscription.js";

/** Alarm thresholds for an event subscription's delivery from the bus. */
export interface EventSubscriptionAlarmOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when the rule target's dead-letter queue holds more than this many events EventBridge
   * could not deliver to the subscription's queue.
   * @default 0 - any
   */
  readonly maxUndeliveredEvents?: number;
}

/** Monitoring of one subscription: its thresholds and, optionally, its name. */
export interface EventSubscriptionMonitoringOptions extends EventSubscriptionAlarmOptions {
  /**
   * Its name in alarm names and on the dashboard.
   * @default - its consumerName
   */
  readonly name?: string;
}

const MINUTE = Duration.minutes(1);

function validate(
  scope: IConstruct | undefined,
  prefix: string,
  options: EventSubscriptionAlarmOptions,
): void {
  requireInteger(scope, `${prefix}maxUndeliveredEvents`, options.maxUndeliveredEvents, 0);
}

/**
 * Event subscriptions: every EventSubscription in the stack. Register it with
 * `monitoring.addKind(eventSubscriptionKind())`.
 *
 * Its queues (and their dead-letter queues) and its consumer are ReliableQueues and a
 * QueueConsumer, watched by the built-in kinds; what only this kind sees is the rule target's
 * own dead-letter queue, where EventBridge puts events it could not deliver to the queue.
 */
export function eventSubscriptionKind(
  defaults: EventSubscriptionAlarmOptions = {},
): ResourceKind<EventSubscription, EventSubscriptionMonitoringOptions> {
  validate(undefined, "eventSubscriptionAlarms.", defaults);
  return {
    name: "event-subscription",
    title: "Event subscriptions",
    matches: (construct: IConstruct): construct is EventSubscription =>
      construct instanceof EventSubscription,
    nameOf: (subscription) => subscription.consumerName,
    monitor(subscription, context, options) {
      validate(subscription, "", options ?? {});
      const o = { alarms: true, maxUndeliveredEvents: 0, ...defaults, ...options };
      const dlq = subscription.deliveryDeadLetterQueue;
      const undelivered = dlq.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: MINUTE,
        label: "events not delivered",
      });
      const limits: HorizontalAnnotation[] = [];
      if (o.alarms) {
        const alarm = context.addAlarm("delivery-failures", {
          alarmDescription: `EventBridge could not deliver more than ${o.maxUndeliveredEvents} events to subscription ${subscription.consumerName}'s queue; they wait in ${dlq.queueName} (check the queue policy and key, then send them on).`,
          metric: undelivered,
          threshold: o.maxUndeliveredEvents,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        limits.push(alarm.toAnnotation());
      }
      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: events EventBridge could not deliver`,
          left: [undelivered],
          leftAnnotations: limits,
          width: 24,
        }),
      );
    },
  };
}

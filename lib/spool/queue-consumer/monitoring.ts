import { Duration, Token } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  type HorizontalAnnotation,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import { BREAKER_OPEN_METRIC } from "../runtime/breaker-policy.js";
import { REPLAY_DEAD_LETTERED_AGAIN_METRIC } from "../runtime/replay-marker.js";
import type { ResourceKind } from "../runtime/resource-kind.js";
import { invalid, requireInteger } from "../runtime/validation.js";
import { monitorGroupHolds } from "./group-hold-monitoring.js";
import { QueueConsumer } from "./queue-consumer.js";
import { monitorTenants } from "./tenant-monitoring.js";

/** Alarm thresholds for a queue consumer's function. */
export interface ConsumerAlarmOptions {
  /**
   * Create the alarms at all (the dashboard widgets are made either way).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Alarm when more invocations than this fail within a minute. A Spool consumer reports
   * record failures through its batch response, so an invocation error means the handler
   * crashed or timed out.
   * @default 0
   */
  readonly maxErrors?: number;
  /**
   * Alarm when more invocations than this are throttled within a minute.
   * @default 0
   */
  readonly maxThrottles?: number;
  /**
   * Alarm when the longest invocation exceeds this share of the function timeout for 3 of 5
   * minutes: the next slow dependency turns into timeouts and redeliveries.
   * @default 0.8
   */
  readonly durationTimeoutRatio?: number;
  /**
   * Alarm when the function runs at its event source's `maxConcurrency` for 5 minutes in a row:
   * the consumer is saturated and the backlog can only grow.
   * @default true
   */
  readonly concurrencyAtCap?: boolean;
  /**
   * Alarm, per breaker the consumer declares (`breakers`), when that dependency's breaker opens
   * or rejects a call within a minute: the dependency is failing and its records wait.
   * @default true
   */
  readonly breakerOpen?: boolean;
  /**
   * Alarm when more replayed messages than this are dead-lettered again within 5 minutes
   * (the consumer's `ReplayDeadLetteredAgain` metric): a `spool dlq replay` did not fix what
   * killed them. `spool dlq history <replay-id>` says which.
   * @default 0
   */
  readonly maxReplayDeadLetteredAgain?: number;
  /**
   * Alarm, per tenant the consumer names in `tenantFairness.alarmTenants`, when more of that
   * tenant's records than this are dead-lettered within 5 minutes (a dead-letter spike).
   * @default 10
   */
  readonly maxTenantDeadLettered?: number;
  /**
   * Alarm when a consumer with `holdGroupOnDeadLetter` starts holding a FIFO group (its
   * `GroupHeld` metric): the group waits for an operator.
   * @default true
   */
  readonly groupHeld?: boolean;
}

/** Monitoring of one consumer: its thresholds and, optionally, the name it goes by. */
export interface ConsumerMonitoringOptions extends ConsumerAlarmOptions {
  /**
   * The consumer's name in alarm names and on the dashboard.
   * @default - its `monitoringName` (which defaults to its `consumerName`)
   */
  readonly name?: string;
}

export const CONSUMER_ALARM_DEFAULTS = {
  alarms: true,
  maxErrors: 0,
  maxThrottles: 0,
  durationTimeoutRatio: 0.8,
  concurrencyAtCap: true,
  breakerOpen: true,
  maxReplayDeadLetteredAgain: 0,
  maxTenantDeadLettered: 10,
  groupHeld: true,
} as const satisfies Required<ConsumerAlarmOptions>;

export function validateConsumerAlarmOptions(
  scope: IConstruct | undefined,
  prefix: string,
  options: ConsumerAlarmOptions = {},
): void {
  requireInteger(scope, `${prefix}maxErrors`, options.maxErrors, 0, 1_000_000_000);
  requireInteger(scope, `${prefix}maxThrottles`, options.maxThrottles, 0, 1_000_000_000);
  requireInteger(
    scope,
    `${prefix}maxReplayDeadLetteredAgain`,
    options.maxReplayDeadLetteredAgain,
    0,
    1_000_000_000,
  );
  requireInteger(
    scope,
    `${prefix}maxTenantDeadLettered`,
    options.maxTenantDeadLettered,
    0,
    1_000_000_000,
  );
  const ratio = options.durationTimeoutRatio;
  if (ratio !== undefined && !Token.isUnresolved(ratio) && !(ratio > 0 && ratio <= 1)) {
    invalid(
      scope,
      `${prefix}durationTimeoutRatio must be above 0 and at most 1 (a share of the timeout), got ${ratio}`,
    );
  }
}

const MINUTE = Duration.minutes(1);

/**
 * Consumers: every QueueConsumer in the stack, with alarms on invocation errors, throttles,
 * duration near the timeout and concurrency pinned at its cap, and a dashboard row each.
 */
export function consumerKind(
  defaults: ConsumerAlarmOptions = {},
): ResourceKind<QueueConsumer, ConsumerMonitoringOptions> {
  validateConsumerAlarmOptions(undefined, "consumerAlarms.", defaults);
  return {
    name: "consumer",
    title: "Consumers",
    matches: (construct: IConstruct): construct is QueueConsumer =>
      construct instanceof QueueConsumer,
    nameOf: (consumer) => consumer.monitoringName,
    monitor(consumer, context, options) {
      validateConsumerAlarmOptions(consumer, "", options);
      const o = { ...CONSUMER_ALARM_DEFAULTS, ...defaults, ...options };
      const fn = consumer.function;
      const invocations = fn.metricInvocations({
        statistic: "Sum",
        period: MINUTE,
        label: "invocations",
      });
      const errors = fn.metricErrors({ statistic: "Sum", period: MINUTE, label: "errors" });
      const throttles = fn.metricThrottles({
        statistic: "Sum",
        period: MINUTE,
        label: "throttles",
      });
      const duration = fn.metricDuration({
        statistic: "Maximum",
        period: MINUTE,
        label: "longest (ms)",
      });
      const durationP90 = fn.metricDuration({
        statistic: "p90",
        period: MINUTE,
        label: "p90 (ms)",
      });
      const concurrency = fn.metric("ConcurrentExecutions", {
        statistic: "Maximum",
        period: MINUTE,
        label: "concurrent executions",
      });

      // Published by circuit-breaker.ts with the consumer's dimensions and the dependency's name.
      const breakerMetrics = consumer.breakers.map(
        (name) =>
          [
            name,
            new Metric({
              namespace: consumer.metricsNamespace,
              metricName: BREAKER_OPEN_METRIC,
              dimensionsMap: {
                service: consumer.serviceName,
                consumer: consumer.consumerName,
                dependency: name,
              },
              statistic: "Sum",
              period: MINUTE,
            }),
          ] as const,
      );
      // Published by the consumer itself (EMF, with Powertools' `service` dimension).
      const replayDeadLetteredAgain = new Metric({
        namespace: consumer.metricsNamespace,
        metricName: REPLAY_DEAD_LETTERED_AGAIN_METRIC,
        dimensionsMap: { service: consumer.serviceName, consumer: consumer.consumerName },
        statistic: "Sum",
        period: Duration.minutes(5),
        label: "replayed, dead-lettered again",
      });

      const timeoutMs = consumer.timeout.toMilliseconds();
      const durationLimit: HorizontalAnnotation[] = [
        { value: timeoutMs, label: "timeout", color: "#d62728" },
      ];
      const concurrencyLimit: HorizontalAnnotation[] = [
        { value: consumer.maxConcurrency, label: "maxConcurrency", color: "#d62728" },
      ];
      if (o.alarms) {
        context.addAlarm("errors", {
          alarmDescription: `More than ${o.maxErrors} invocations of consumer ${consumer.consumerName} failed in a minute (crash or timeout; record failures are reported in the batch response, not as errors).`,
          metric: errors,
          threshold: o.maxErrors,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        context.addAlarm("throttles", {
          alarmDescription: `More than ${o.maxThrottles} invocations of consumer ${consumer.consumerName} were throttled in a minute: account or reserved concurrency is exhausted.`,
          metric: throttles,
          threshold: o.maxThrottles,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
        const durationAlarm = context.addAlarm("duration-near-timeout", {
          alarmDescription: `Invocations of consumer ${consumer.consumerName} took more than ${Math.round(o.durationTimeoutRatio * 100)}% of its ${consumer.timeout.toHumanString()} timeout for 3 of 5 minutes.`,
          metric: duration,
          threshold: Math.round(timeoutMs * o.durationTimeoutRatio),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
        });
        durationLimit.push(durationAlarm.toAnnotation());
        if (o.concurrencyAtCap) {
          context.addAlarm("concurrency-at-cap", {
            alarmDescription: `Consumer ${consumer.consumerName} ran at its maxConcurrency (${consumer.maxConcurrency}) for 5 minutes: it is saturated and its queue can only grow.`,
            metric: concurrency,
            threshold: consumer.maxConcurrency,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
            evaluationPeriods: 5,
          });
        }
        if (o.breakerOpen) {
          for (const [name, metric] of breakerMetrics) {
            context.addAlarm(`breaker-open-${name}`, {
              alarmDescription: `The circuit breaker of dependency ${name} of consumer ${consumer.consumerName} is open: calls to it failed past the breaker's threshold, and its records are deferred until a probe succeeds.`,
              metric,
              threshold: 1,
              comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              treatMissingData: TreatMissingData.NOT_BREACHING,
              evaluationPeriods: 1,
            });
          }
        }
        context.addAlarm("replay-dead-lettered-again", {
          alarmDescription: `More than ${o.maxReplayDeadLetteredAgain} replayed messages were dead-lettered again by consumer ${consumer.consumerName} within 5 minutes: the replay did not fix them (spool dlq history <replay-id>).`,
          metric: replayDeadLetteredAgain,
          threshold: o.maxReplayDeadLetteredAgain,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
        });
      }

      context.addWidgets(
        new GraphWidget({
          title: `${context.name}: invocations`,
          left: [invocations, errors, throttles],
          right: [replayDeadLetteredAgain],
          width: 8,
        }),
        new GraphWidget({
          title: `${context.name}: duration`,
          left: [duration, durationP90],
          leftAnnotations: durationLimit,
          width: 8,
        }),
        new GraphWidget({
          title: `${context.name}: concurrency`,
          left: [concurrency],
          leftAnnotations: concurrencyLimit,
          width: 8,
        }),
      );
      if (consumer.tenantFairness) monitorTenants(consumer, context, o);
      if (consumer.holdGroupOnDeadLetter)
        monitorGroupHolds(consumer, context, o.alarms && o.groupHeld);
      if (breakerMetrics.length > 0) {
        context.addWidgets(
          new GraphWidget({
            title: `${context.name}: open breakers (opened or rejecting, per minute)`,
            left: breakerMetrics.map(([name, metric]) => metric.with({ label: name })),
            width: 24,
          }),
        );
      }
    },
  };
}

import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { GROUP_HOLD_METRICS } from "../runtime/group-hold-policy.js";
import type { MonitorContext } from "../runtime/resource-kind.js";
import type { QueueConsumer } from "./queue-consumer.js";

/**
 * A consumer's group holds (`holdGroupOnDeadLetter`): an alarm when a group is held (a group
 * stops until an operator replays or releases it, so someone must know at once), and a dashboard
 * graph of holds started, records parked and holds released.
 */
export function monitorGroupHolds(
  consumer: QueueConsumer,
  context: MonitorContext,
  alarm: boolean,
): void {
  const metric = (name: string, label: string) =>
    new Metric({
      namespace: consumer.metricsNamespace,
      metricName: name,
      dimensionsMap: { service: consumer.serviceName, consumer: consumer.consumerName },
      statistic: "Sum",
      period: Duration.minutes(5),
      label,
    });
  const held = metric(GROUP_HOLD_METRICS.held, "groups held");
  if (alarm) {
    context.addAlarm("group-held", {
      alarmDescription: `Consumer ${consumer.consumerName} holds a FIFO group behind a dead letter: the group's later messages are parked in the DLQ until the head is fixed and the group replayed (spool dlq replay), or the hold released (spool consumers holds ${consumer.consumerName}).`,
      metric: held,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 1,
    });
  }
  context.addWidgets(
    new GraphWidget({
      title: `${context.name}: group holds (per 5 minutes)`,
      left: [
        held,
        metric(GROUP_HOLD_METRICS.parked, "parked"),
        metric(GROUP_HOLD_METRICS.released, "released"),
      ],
      width: 24,
    }),
  );
}

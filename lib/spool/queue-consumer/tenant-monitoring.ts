import { Duration } from "aws-cdk-lib";
import {
  ComparisonOperator,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { MonitorContext } from "../runtime/resource-kind.js";
import { TENANT_DIMENSION, TENANT_METRICS } from "../runtime/tenant-fairness-policy.js";
import type { QueueConsumer } from "./queue-consumer.js";

const FIVE_MINUTES = Duration.minutes(5);

/** One tenant's dead letters per 5 minutes, as the consumer publishes them (tenant-metrics.ts). */
export function tenantDeadLetteredMetric(consumer: QueueConsumer, tenant: string): Metric {
  return new Metric({
    namespace: consumer.metricsNamespace,
    metricName: TENANT_METRICS.deadLettered,
    dimensionsMap: {
      service: consumer.serviceName,
      consumer: consumer.consumerName,
      [TENANT_DIMENSION]: tenant,
    },
    statistic: "Sum",
    period: FIVE_MINUTES,
    label: tenant,
  });
}

/**
 * A consumer's per-tenant monitoring: one dead-letter spike alarm per tenant it names in
 * `tenantFairness.alarmTenants` (a standard alarm on that tenant's metric: no metric math, no
 * Contributor Insights, both of which cost more and neither of which the emulator deploys), and a
 * dashboard row of every tenant's dead letters and age through SEARCH expressions, which a
 * dashboard may use though an alarm may not, so tenants nobody listed are still visible there.
 */
export function monitorTenants(
  consumer: QueueConsumer,
  context: MonitorContext,
  options: { readonly alarms: boolean; readonly maxTenantDeadLettered: number },
): void {
  if (options.alarms) {
    for (const tenant of consumer.alarmTenants) {
      context.addAlarm(`tenant-dead-letters-${tenant}`, {
        alarmDescription: `More than ${options.maxTenantDeadLettered} records of tenant ${tenant} were dead-lettered by consumer ${consumer.consumerName} within 5 minutes: that tenant's messages are failing (spool dlq list shows why).`,
        metric: tenantDeadLetteredMetric(consumer, tenant),
        threshold: options.maxTenantDeadLettered,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        evaluationPeriods: 1,
      });
    }
  }
  const search = (metricName: string, statistic: string, label: string) =>
    new MathExpression({
      expression: `SEARCH('{${consumer.metricsNamespace},${TENANT_DIMENSION},consumer,service} MetricName="${metricName}" consumer="${consumer.consumerName}"', '${statistic}', 300)`,
      usingMetrics: {},
      label,
      period: FIVE_MINUTES,
    });
  context.addWidgets(
    new GraphWidget({
      title: `${context.name}: dead letters per tenant (5 min)`,
      left: [search(TENANT_METRICS.deadLettered, "Sum", "")],
      width: 12,
    }),
    new GraphWidget({
      title: `${context.name}: oldest record processed per tenant (ms, 5 min)`,
      left: [search(TENANT_METRICS.age, "Maximum", "")],
      width: 12,
    }),
  );
}

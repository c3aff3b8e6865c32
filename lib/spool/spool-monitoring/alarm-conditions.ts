import type { Stack } from "aws-cdk-lib";
import {
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";

/** When an alarm fires, as its props or its CloudFormation resource say (defaults left out). */
export interface AlarmCondition {
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator | undefined;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number | undefined;
  readonly treatMissingData: TreatMissingData | undefined;
}

/**
 * What an alarm watches and when it fires, as one string: two alarms with the same one would
 * page twice for one cause. CloudWatch's defaults fill what the props leave out.
 */
export function conditionOf(stack: Stack, metric: Metric, condition: AlarmCondition): string {
  return JSON.stringify([
    metric.namespace,
    metric.metricName,
    stack.resolve(metric.dimensions ?? {}),
    metric.statistic,
    metric.period.toSeconds(),
    metric.account ?? null,
    metric.region ?? null,
    condition.threshold,
    condition.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    condition.evaluationPeriods,
    condition.datapointsToAlarm ?? condition.evaluationPeriods,
    condition.treatMissingData ?? TreatMissingData.MISSING,
  ]);
}

/**
 * The metric an alarm may watch everywhere Spool deploys: a single metric without a label.
 * CDK renders a labelled metric (or math) as the alarm's `Metrics` array, and some
 * CloudFormation implementations (MiniStack's) refuse the whole stack for that.
 */
export function plainMetric(metric: IMetric, where: string): Metric {
  if (!(metric instanceof Metric)) {
    throw new Error(
      `alarm ${where} must watch a single metric, not math (metric-math alarms are not deployable everywhere): publish the value as a metric instead, got ${metric.toString()}`,
    );
  }
  return new Metric({
    namespace: metric.namespace,
    metricName: metric.metricName,
    dimensionsMap: metric.dimensions as Record<string, string> | undefined,
    statistic: metric.statistic,
    period: metric.period,
    ...(metric.unit ? { unit: metric.unit } : {}),
    ...(metric.account ? { account: metric.account } : {}),
    ...(metric.region ? { region: metric.region } : {}),
  });
}

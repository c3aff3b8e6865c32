import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from "@aws-sdk/client-cloudwatch";
import type { Check, Props, ResourceChecker } from "../check.js";

const ALARM_CHECKED = [
  "MetricName",
  "Namespace",
  "Statistic",
  "Period",
  "EvaluationPeriods",
  "DatapointsToAlarm",
  "Threshold",
  "ComparisonOperator",
  "TreatMissingData",
  "Dimensions",
  "AlarmActions",
  "OKActions",
] as const;

/** An alarm is only as good as its threshold, metric and actions: check them all. */
function alarmChecks(cloudwatch: CloudWatchClient, alarmName: string, props: Props): Check[] {
  // One read per alarm for all its properties, read again only after a fix.
  let cache: Promise<Record<string, unknown> | undefined> | undefined;
  const read = () => {
    cache ??= cloudwatch
      .send(new DescribeAlarmsCommand({ AlarmNames: [alarmName] }))
      .then((r) => r.MetricAlarms?.[0] as Record<string, unknown> | undefined);
    return cache;
  };
  return ALARM_CHECKED.filter((name) => props[name] !== undefined).map((name) => ({
    property: name,
    declared: props[name],
    observe: async () => (await read())?.[name],
    // PutMetricAlarm takes the template's property names and rewrites the whole alarm.
    fix: async () => {
      cache = undefined;
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          ...(props as unknown as PutMetricAlarmCommandInput),
          AlarmName: alarmName,
        }),
      );
    },
  }));
}

export const cloudwatchAlarm: ResourceChecker = {
  type: "AWS::CloudWatch::Alarm",
  connect: (config) => {
    const cloudwatch = new CloudWatchClient(config);
    return (alarmName, props) => alarmChecks(cloudwatch, alarmName, props);
  },
};

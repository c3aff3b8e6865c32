import { App, Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { delayedTasksKind } from "../../lib/spool/delayed-tasks/monitoring.js";
import { recurringJobKind } from "../../lib/spool/recurring-job/monitoring.js";
import { ReliableQueue } from "../../lib/spool/reliable-queue/index.js";
import { workflowKind } from "../../lib/spool/saga-workflow/monitoring.js";
import {
  SpoolMonitoring,
  type SpoolMonitoringProps,
} from "../../lib/spool/spool-monitoring/index.js";

/** Unit-test helpers for SpoolMonitoring: a monitored stack, and its alarms and dashboard. */

export type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

export function alarmsOf(template: Template): Record<string, Record<string, unknown>> {
  const alarms = template.findResources("AWS::CloudWatch::Alarm") as Resources;
  return Object.fromEntries(
    Object.values(alarms).map((a) => [String(a.Properties.AlarmName), a.Properties]),
  );
}

export function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(
    template.findResources("AWS::CloudWatch::Dashboard") as Resources,
  );
  return JSON.stringify(dashboard?.Properties.DashboardBody);
}

/** Monitoring first, resources after: discovery must still find them. */
export function monitoredStack(
  props: SpoolMonitoringProps = {},
  build?: (stack: Stack, monitoring: SpoolMonitoring) => void,
) {
  // Templates are what is tested here: skip esbuild bundling of the Lambda code.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Ops", { env: { account: "111111111111", region: "eu-west-1" } });
  const monitoring = new SpoolMonitoring(stack, "Monitoring", props);
  const orders = new ReliableQueue(stack, "Orders", { fifo: true });
  build?.(stack, monitoring);
  return { app, stack, monitoring, orders };
}

/** A stack for kind tests (templates only: no esbuild bundling of the sampler). */
export function newStack() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  return new Stack(app, "Ops", { env: { account: "111111111111", region: "eu-west-1" } });
}

export function monitoringWithKinds(stack: Stack) {
  const monitoring = new SpoolMonitoring(stack, "Monitoring");
  monitoring.addKind(workflowKind());
  monitoring.addKind(delayedTasksKind());
  monitoring.addKind(recurringJobKind());
  return monitoring;
}

export function alarms(template: Template) {
  return Object.entries(template.findResources("AWS::CloudWatch::Alarm") as Resources).map(
    ([logicalId, a]) => ({ logicalId, ...a.Properties }) as Record<string, unknown>,
  );
}

export function alarmNamed(template: Template, name: string) {
  const found = alarms(template).find((a) => a.AlarmName === name);
  if (!found) {
    const names = alarms(template).map((a) => a.AlarmName);
    throw new Error(`no alarm ${name}; alarms: ${JSON.stringify(names)}`);
  }
  return found;
}

export function alarmsOnMetric(template: Template, metricName: string) {
  return alarms(template).filter((a) => a.MetricName === metricName);
}

export function topicRef(template: Template) {
  const [logicalId] = Object.keys(template.findResources("AWS::SNS::Topic"));
  return { Ref: logicalId };
}

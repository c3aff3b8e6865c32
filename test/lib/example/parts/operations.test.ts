import type { Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { allStacks } from "../../../helpers/all-stacks.js";
import { alarmNamed, alarms, dashboardBody } from "../../../helpers/spool-monitoring.js";

describe("the reference stack's monitoring", () => {
  const stacks = allStacks();
  const local = stacks.find((s) => s.name.includes("test hooks"))?.stack as Stack;
  const localTemplate = Template.fromStack(local);

  it("watches the outbox: dead letters, publisher crashes, publish lag", () => {
    expect(alarmNamed(localTemplate, "SpoolLocal-outbox-outbox-dead-letters")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 0,
    });
    expect(alarmNamed(localTemplate, "SpoolLocal-outbox-outbox-publisher-errors")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Statistic: "Sum",
      Threshold: 0,
    });
    expect(alarmNamed(localTemplate, "SpoolLocal-outbox-outbox-publish-lag")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Statistic: "Maximum",
      Threshold: 300_000,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
    });
    expect(dashboardBody(localTemplate)).toContain("## Outboxes");
  });

  it("watches each event subscription's delivery dead-letter queue, named by consumer", () => {
    for (const consumer of ["payments", "order-confirmations", "analytics"]) {
      expect(
        alarmNamed(localTemplate, `SpoolLocal-event-subscription-${consumer}-delivery-failures`),
      ).toMatchObject({ MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 0 });
    }
    expect(dashboardBody(localTemplate)).toContain("## Event subscriptions");
  });

  it("shows every alarm in the overview, 100 per alarm widget side by side", () => {
    const count = alarms(localTemplate).length;
    expect(count).toBeGreaterThan(100);
    const body = dashboardBody(localTemplate);
    const parts = Math.ceil(count / 100);
    expect(body).toContain(`Alarms (${parts} of ${parts})`);
    const arns = body.match(/"Fn::GetAtt":\["[A-Za-z0-9]+","Arn"\]/g) ?? [];
    expect(arns).toHaveLength(count);
    expect(
      Annotations.fromStack(local).findWarning("*", Match.stringLikeRegexp("alarm overview")),
    ).toHaveLength(0);
  });

  it("never creates two alarms on one metric with one condition", () => {
    for (const { name, stack } of stacks) {
      const seen = new Map<string, string>();
      for (const a of alarms(Template.fromStack(stack))) {
        const key = JSON.stringify([
          a.Namespace,
          a.MetricName,
          a.Dimensions,
          a.Statistic,
          a.Period,
          a.Threshold,
          a.ComparisonOperator,
          a.EvaluationPeriods,
        ]);
        expect(seen.get(key), `${name}: ${String(a.AlarmName)} duplicates`).toBeUndefined();
        seen.set(key, String(a.AlarmName ?? a.logicalId));
      }
    }
  });
});

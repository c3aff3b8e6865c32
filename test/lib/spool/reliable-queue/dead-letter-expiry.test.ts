import { Duration } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { defaultExpiryMargins } from "../../../../lib/spool/reliable-queue/dead-letter-expiry.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import type { SpoolMonitoringProps } from "../../../../lib/spool/spool-monitoring/index.js";
import { alarmsOf, dashboardBody, monitoredStack } from "../../../helpers/spool-monitoring.js";

const DAY = 86_400;

/** The DLQ's logical id, as the alarm's QueueName dimension refers to it. */
function dlqNameRef(template: Template, path: string) {
  const [id] = Object.entries(template.findResources("AWS::SQS::Queue")).find(([logicalId]) =>
    logicalId.startsWith(path),
  ) ?? [undefined];
  return { "Fn::GetAtt": [id, "QueueName"] };
}

describe("dead-letter expiry alarms", () => {
  it("page at retention − 3 days and warn at retention − 7 days for the 14-day default", () => {
    const { stack } = monitoredStack({}, (s) => new ReliableQueue(s, "Payments"));
    const template = Template.fromStack(stack);
    const alarms = alarmsOf(template);
    const dimension = [
      { Name: "QueueName", Value: dlqNameRef(template, "PaymentsDeadLetterQueue") },
    ];
    expect(alarms["Ops-queue-payments-dead-letter-expiry"]).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: dimension,
      Statistic: "Maximum",
      Period: 300,
      Threshold: 11 * DAY,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
    expect(alarms["Ops-queue-payments-dead-letter-expiry-warning"]).toMatchObject({
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: dimension,
      Threshold: 7 * DAY,
    });
    // The tier is in the name and the first word of the description: one topic carries both.
    // (The description joins in the queue's name, so it is a Fn::Join of parts.)
    const description = (name: string) => JSON.stringify(alarms[name]?.AlarmDescription);
    expect(description("Ops-queue-payments-dead-letter-expiry")).toMatch(/\["URGENT: /);
    expect(description("Ops-queue-payments-dead-letter-expiry-warning")).toMatch(/\["WARNING /);
    expect(alarms["Ops-queue-payments-dead-letter-expiry"]?.AlarmActions).toHaveLength(1);
    expect(dashboardBody(template)).toContain("age of oldest dead letter (s)");
  });

  it("derives the thresholds from the DLQ's own retention, scaled down for a short one", () => {
    const { stack } = monitoredStack({}, (s) => {
      new ReliableQueue(s, "Week", {
        retentionPeriod: Duration.days(1),
        deadLetterRetentionPeriod: Duration.days(7),
      });
      new ReliableQueue(s, "Lab", {
        retentionPeriod: Duration.minutes(10),
        deadLetterRetentionPeriod: Duration.hours(1),
      });
    });
    const alarms = alarmsOf(Template.fromStack(stack));
    // 7 days: a quarter (1.75 days) and a half (3.5 days) of it, under the caps.
    expect(alarms["Ops-queue-week-dead-letter-expiry"]?.Threshold).toBe(7 * DAY - 151_200);
    expect(alarms["Ops-queue-week-dead-letter-expiry-warning"]?.Threshold).toBe(7 * DAY - 302_400);
    expect(alarms["Ops-queue-lab-dead-letter-expiry"]?.Threshold).toBe(2_700);
    expect(alarms["Ops-queue-lab-dead-letter-expiry-warning"]?.Threshold).toBe(1_800);
    expect(defaultExpiryMargins(14 * DAY)).toEqual({ page: 3 * DAY, warning: 7 * DAY });
  });

  it("takes margins stack-wide and per queue, and drops the warning tier or both on request", () => {
    const { stack, monitoring } = monitoredStack(
      { queueAlarms: { deadLetterExpiryMargin: Duration.days(2) } },
      (s, m) => {
        const quiet = new ReliableQueue(s, "Quiet");
        const pageOnly = new ReliableQueue(s, "PageOnly");
        const tuned = new ReliableQueue(s, "Tuned");
        m.monitor(quiet, { deadLetterExpiry: false });
        m.monitor(pageOnly, { deadLetterExpiryWarning: false });
        m.monitor(tuned, {
          deadLetterExpiryMargin: Duration.days(4),
          deadLetterExpiryWarningMargin: Duration.days(10),
        });
      },
    );
    expect(monitoring).toBeDefined();
    const alarms = alarmsOf(Template.fromStack(stack));
    const names = Object.keys(alarms);
    expect(alarms["Ops-queue-orders-dead-letter-expiry"]?.Threshold).toBe(12 * DAY);
    expect(names.filter((n) => n.startsWith("Ops-queue-quiet-dead-letter-expiry"))).toEqual([]);
    expect(names).toContain("Ops-queue-quiet-dead-letters");
    expect(names).toContain("Ops-queue-page-only-dead-letter-expiry");
    expect(names).not.toContain("Ops-queue-page-only-dead-letter-expiry-warning");
    expect(alarms["Ops-queue-tuned-dead-letter-expiry"]?.Threshold).toBe(10 * DAY);
    expect(alarms["Ops-queue-tuned-dead-letter-expiry-warning"]?.Threshold).toBe(4 * DAY);
  });

  it("fails synthesis naming the queue, the prop and the value for a margin the retention cannot hold", () => {
    const { app, monitoring, stack } = monitoredStack();
    const short = new ReliableQueue(stack, "Short", {
      retentionPeriod: Duration.days(1),
      deadLetterRetentionPeriod: Duration.days(2),
    });
    monitoring.monitor(short, { deadLetterExpiryMargin: Duration.days(3) });
    expect(() => app.synth()).toThrow(
      "Ops/Short: deadLetterExpiryMargin must be shorter than the dead-letter queue's retention (2 days), got 3 days",
    );
  });

  it("refuses a warning margin no longer than the page's, and a margin out of range", () => {
    const { app, monitoring, orders } = monitoredStack();
    monitoring.monitor(orders, {
      deadLetterExpiryMargin: Duration.days(3),
      deadLetterExpiryWarningMargin: Duration.days(2),
    });
    expect(() => app.synth()).toThrow(
      "Ops/Orders: deadLetterExpiryWarningMargin must be longer than deadLetterExpiryMargin (3 days), got 2 days",
    );
    expect(() =>
      monitoredStack({
        queueAlarms: { deadLetterExpiryMargin: Duration.seconds(30) },
      } satisfies SpoolMonitoringProps),
    ).toThrow("queueAlarms.deadLetterExpiryMargin must be from 1 min to 14 days, got 30 s");
  });
});

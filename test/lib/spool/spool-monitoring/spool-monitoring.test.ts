import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { ComparisonOperator, GraphWidget, MathExpression } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { QueueConsumer } from "../../../../lib/spool/queue-consumer/index.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import {
  type ResourceKind,
  SpoolMonitoring,
  type SpoolMonitoringProps,
} from "../../../../lib/spool/spool-monitoring/index.js";
import { alarmsOf, dashboardBody, monitoredStack } from "../../../helpers/spool-monitoring.js";

const consumerEntry = fileURLToPath(
  new URL("../../../../lambdas/notifications/handler.ts", import.meta.url),
);

describe("SpoolMonitoring defaults", () => {
  let template: Template;
  let monitoring: SpoolMonitoring;

  beforeAll(() => {
    const built = monitoredStack({}, (stack) => {
      const notifications = new ReliableQueue(stack, "Notifications");
      new QueueConsumer(stack, "NotificationsConsumer", {
        source: notifications,
        entry: consumerEntry,
        consumerName: "notifications",
        timeout: Duration.seconds(10),
        maxConcurrency: 7,
      });
    });
    monitoring = built.monitoring;
    template = Template.fromStack(built.stack);
  });

  it("creates one encrypted, TLS-only alarm topic that this account's alarms may publish to and whose key CloudWatch may use", () => {
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: Match.objectLike({ "Fn::GetAtt": Match.anyValue() }),
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      }),
    });
    // A topic policy replaces SNS's default one: without this statement no alarm can publish.
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          {
            Sid: "AllowCloudWatchAlarms",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: { Ref: Match.stringLikeRegexp("AlarmTopic") },
            Condition: {
              StringEquals: { "aws:SourceAccount": "111111111111" },
              ArnLike: {
                "aws:SourceArn": {
                  "Fn::Join": [
                    "",
                    [
                      "arn:",
                      { Ref: "AWS::Partition" },
                      ":cloudwatch:eu-west-1:111111111111:alarm:*",
                    ],
                  ],
                },
              },
            },
          },
        ]),
      }),
    });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Condition: { StringEquals: { "aws:SourceAccount": "111111111111" } },
          }),
        ]),
      }),
    });
  });

  it("alarms on every queue's depth, age, drain time, dead letters and growth", () => {
    const alarms = alarmsOf(template);
    for (const queue of ["orders", "notifications"]) {
      expect(alarms[`Ops-queue-${queue}-depth`]).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Statistic: "Maximum",
        Period: 60,
        Threshold: 1000,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: "notBreaching",
      });
      expect(alarms[`Ops-queue-${queue}-age-of-oldest`]).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateAgeOfOldestMessage",
        Threshold: 900,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
      });
      expect(alarms[`Ops-queue-${queue}-time-to-drain`]).toMatchObject({
        Namespace: "Spool",
        MetricName: "EstimatedSecondsToDrain",
        Statistic: "Maximum",
        Threshold: 900,
      });
      expect(alarms[`Ops-queue-${queue}-dead-letters`]).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
      });
      expect(alarms[`Ops-queue-${queue}-dead-letter-growth`]).toMatchObject({
        Namespace: "Spool",
        MetricName: "DeadLetterQueueGrowth",
        Threshold: 0,
        EvaluationPeriods: 1,
      });
    }
    // The DLQ alarms watch the DLQ, the depth alarm the source.
    expect(JSON.stringify(alarms["Ops-queue-orders-dead-letters"]?.Dimensions)).toContain(
      "OrdersDeadLetterQueue",
    );
    expect(JSON.stringify(alarms["Ops-queue-orders-depth"]?.Dimensions)).toContain("OrdersQueue");
  });

  it("alarms on every consumer's errors, throttles, duration near timeout and concurrency cap", () => {
    const alarms = alarmsOf(template);
    expect(alarms["Ops-consumer-notifications-errors"]).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Statistic: "Sum",
      Threshold: 0,
    });
    expect(alarms["Ops-consumer-notifications-throttles"]).toMatchObject({
      MetricName: "Throttles",
      Threshold: 0,
    });
    expect(alarms["Ops-consumer-notifications-duration-near-timeout"]).toMatchObject({
      MetricName: "Duration",
      Statistic: "Maximum",
      Threshold: 8000, // 80% of the 10 s timeout
    });
    expect(alarms["Ops-consumer-notifications-concurrency-at-cap"]).toMatchObject({
      MetricName: "ConcurrentExecutions",
      Threshold: 7,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 5,
    });
    // A replayed message dead-lettered again: the consumer's own EMF metric, with the exact
    // dimensions Powertools publishes it under (service and consumer), or it would never fire.
    expect(alarms["Ops-consumer-notifications-replay-dead-lettered-again"]).toMatchObject({
      Namespace: "Spool",
      MetricName: "ReplayDeadLetteredAgain",
      Statistic: "Sum",
      Period: 300,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    const dimensions = alarms["Ops-consumer-notifications-replay-dead-lettered-again"]
      ?.Dimensions as { Name: string; Value: unknown }[];
    expect(dimensions.map((d) => d.Name).sort()).toEqual(["consumer", "service"]);
    for (const d of dimensions) expect(d.Value).toBe("notifications");
  });

  it("sends every alarm's ALARM and OK transitions to the topic, and uses no metric math", () => {
    const alarms = alarmsOf(template);
    // Per queue: depth, age, drain, dead letters, growth and two expiry tiers; per consumer 5.
    expect(Object.keys(alarms)).toHaveLength(7 * 2 + 5 + 1);
    const topicRef = { Ref: template.getResourceId("AWS::SNS::Topic") };
    for (const [name, alarm] of Object.entries(alarms)) {
      expect(alarm.AlarmActions, name).toEqual([topicRef]);
      expect(alarm.OKActions, name).toEqual([topicRef]);
      // MiniStack's CloudFormation fails the whole stack for an alarm with `Metrics`.
      expect(alarm.Metrics, name).toBeUndefined();
      expect(alarm.MetricName, name).toBeTypeOf("string");
    }
    expect(monitoring.alarms).toHaveLength(Object.keys(alarms).length);
  });

  it("draws a dashboard of what the stack contains, with every alarm and the drain math", () => {
    const body = dashboardBody(template);
    for (const title of [
      "orders: backlog",
      "orders: time to drain (s)",
      "notifications: dead letters",
      "notifications: duration",
      "notifications: concurrency",
      "## Queues",
      "## Consumers",
    ]) {
      expect(body).toContain(title);
    }
    expect(body).toContain("visible / (deleted / PERIOD(deleted))");
    expect(body).toContain('\\"type\\":\\"alarm\\"');
    const alarmIds = Object.keys(template.findResources("AWS::CloudWatch::Alarm"));
    for (const id of alarmIds) expect(body).toContain(id);
  });
});

describe("SpoolMonitoring knobs", () => {
  it("applies stack-wide thresholds and per-resource overrides and names", () => {
    const { stack, monitoring, orders } = monitoredStack({
      queueAlarms: { maxTimeToDrain: Duration.minutes(30), maxDeadLetters: 5 },
      notifyOnRecovery: false,
    });
    monitoring.monitor(orders, { name: "order-events", maxVisibleMessages: 50 });
    const alarms = alarmsOf(Template.fromStack(stack));
    expect(alarms["Ops-queue-order-events-depth"]?.Threshold).toBe(50);
    expect(alarms["Ops-queue-order-events-time-to-drain"]?.Threshold).toBe(1800);
    expect(alarms["Ops-queue-order-events-dead-letters"]?.Threshold).toBe(5);
    expect(alarms["Ops-queue-order-events-depth"]?.OKActions).toBeUndefined();
  });

  it("keeps the widgets but no alarms when a queue's alarms are off; exclude drops it", () => {
    const { stack } = monitoredStack({}, (s, monitoring) => {
      const quiet = new ReliableQueue(s, "Quiet");
      const ignored = new ReliableQueue(s, "Ignored");
      monitoring.exclude(ignored);
      monitoring.monitor(quiet, { alarms: false });
    });
    const template = Template.fromStack(stack);
    const names = Object.keys(alarmsOf(template));
    expect(names.some((n) => n.includes("-quiet-"))).toBe(false);
    expect(names.some((n) => n.includes("-ignored-"))).toBe(false);
    expect(names).toContain("Ops-queue-orders-depth");
    const body = dashboardBody(template);
    expect(body).toContain("quiet: backlog");
    expect(body).not.toContain("ignored: backlog");
  });

  it("monitors only what it is given when discovery is off", () => {
    const { stack } = monitoredStack({ discover: false }, (s, monitoring) => {
      const chosen = new ReliableQueue(s, "Chosen");
      monitoring.monitor(chosen);
    });
    const names = Object.keys(alarmsOf(Template.fromStack(stack)));
    expect(names.filter((n) => n.startsWith("Ops-queue-"))).toEqual(
      expect.arrayContaining(["Ops-queue-chosen-depth"]),
    );
    expect(names.some((n) => n.includes("-orders-"))).toBe(false);
  });

  it("makes names unique by parent path when two queues share an id", () => {
    const { stack } = monitoredStack({}, (s) => {
      const lab = new Table(s, "Lab", { partitionKey: { name: "pk", type: AttributeType.STRING } });
      new ReliableQueue(lab, "Orders");
    });
    const names = Object.keys(alarmsOf(Template.fromStack(stack)));
    expect(names).toContain("Ops-queue-lab/orders-depth");
    expect(names).toContain("Ops-queue-orders-depth");
  });

  it("monitors a new kind of resource registered with addKind, in its own section", () => {
    const kind: ResourceKind<Table> = {
      name: "table",
      title: "Tables",
      matches: (c: IConstruct): c is Table => c instanceof Table,
      monitor(table, context) {
        const throttled = table.metricThrottledRequestsForOperation("PutItem", {
          period: Duration.minutes(1),
          label: "labelled, like a dashboard metric",
        });
        context.addAlarm("throttled", {
          metric: throttled,
          threshold: 0,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        });
        context.addWidgets(
          new GraphWidget({ title: `${context.name}: throttles`, left: [throttled] }),
        );
      },
    };
    const { stack } = monitoredStack({}, (s, monitoring) => {
      monitoring.addKind(kind);
      new Table(s, "Ledger", { partitionKey: { name: "pk", type: AttributeType.STRING } });
    });
    const template = Template.fromStack(stack);
    const alarm = alarmsOf(template)["Ops-table-ledger-throttled"];
    // A labelled metric is still rendered as a plain single-metric alarm.
    expect(alarm).toMatchObject({ MetricName: "ThrottledRequests", Namespace: "AWS/DynamoDB" });
    expect(alarm?.Metrics).toBeUndefined();
    const body = dashboardBody(template);
    expect(body).toContain("## Tables");
    expect(body).toContain("ledger: throttles");
  });
});

describe("SpoolMonitoring validation", () => {
  it.each([
    [
      { queueAlarms: { maxTimeToDrain: Duration.seconds(30) } },
      "queueAlarms.maxTimeToDrain must be from 1 min to 14 days, got 30 s",
    ],
    [
      { queueAlarms: { maxVisibleMessages: 0 } },
      "queueAlarms.maxVisibleMessages must be an integer from 1 to 1000000000, got 0",
    ],
    [
      { queueAlarms: { maxDeadLetters: -1 } },
      "queueAlarms.maxDeadLetters must be an integer from 0 to 1000000000, got -1",
    ],
    [
      { consumerAlarms: { durationTimeoutRatio: 1.5 } },
      "consumerAlarms.durationTimeoutRatio must be above 0 and at most 1 (a share of the timeout), got 1.5",
    ],
    [
      { consumerAlarms: { maxReplayDeadLetteredAgain: -1 } },
      "consumerAlarms.maxReplayDeadLetteredAgain must be an integer from 0 to 1000000000, got -1",
    ],
  ] as [SpoolMonitoringProps, string][])("fails synthesis for %j", (props, message) => {
    expect(() => monitoredStack(props)).toThrow(message);
  });

  it("names the resource and the value for a bad per-resource override", () => {
    const { monitoring, orders, app } = monitoredStack();
    monitoring.monitor(orders, { maxAgeOfOldestMessage: Duration.seconds(10) });
    expect(() => app.synth()).toThrow(
      "maxAgeOfOldestMessage must be from 1 min to 14 days, got 10 s",
    );
  });

  it("refuses two resources of a kind with one name", () => {
    const { monitoring, orders, app, stack } = monitoredStack();
    const other = new ReliableQueue(stack, "Other");
    monitoring.monitor(orders, { name: "same" });
    monitoring.monitor(other, { name: "same" });
    expect(() => app.synth()).toThrow(/two queues would be monitored as "same"/);
  });

  it("refuses a metric-math alarm from a kind", () => {
    const { monitoring, app, stack } = monitoredStack();
    monitoring.addKind({
      name: "mathy",
      title: "Math",
      matches: (c: IConstruct): c is Table => c instanceof Table,
      monitor(_table, context) {
        context.addAlarm("ratio", {
          metric: new MathExpression({ expression: "1 + 1", usingMetrics: {} }),
          threshold: 1,
          evaluationPeriods: 1,
        });
      },
    });
    new Table(stack, "T", { partitionKey: { name: "pk", type: AttributeType.STRING } });
    expect(() => app.synth()).toThrow(/must watch a single metric, not math/);
  });

  it("refuses a second monitoring in one stack", () => {
    const { stack } = monitoredStack();
    expect(() => new SpoolMonitoring(stack, "Again")).toThrow(
      "one SpoolMonitoring per stack: Ops already has one, got a second at Ops/Again",
    );
  });

  it("refuses to monitor something no kind knows", () => {
    const { monitoring, stack } = monitoredStack();
    const table = new Table(stack, "T", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
    });
    expect(() => monitoring.monitor(table)).toThrow(/knows no resource kind matching Ops\/T/);
  });
});

import { Template } from "aws-cdk-lib/assertions";
import { Alarm, MathExpression, Metric } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Construct, type IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { SagaWorkflow } from "../../../../lib/spool/saga-workflow/index.js";
import { workflowKind } from "../../../../lib/spool/saga-workflow/monitoring.js";
import { SpoolMonitoring } from "../../../../lib/spool/spool-monitoring/index.js";
import {
  alarmNamed,
  alarms,
  alarmsOnMetric,
  dashboardBody,
  monitoringWithKinds,
  newStack,
  topicRef,
} from "../../../helpers/spool-monitoring.js";

function fn(scope: Construct, id: string) {
  return new LambdaFunction(scope, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => ({ outcome: 'ok' })"),
  });
}

function saga(scope: Construct, id = "Fulfilment") {
  const steps = fn(scope, `${id}Steps`);
  return new SagaWorkflow(scope, id, {
    steps: [
      { name: "reserve", function: steps, compensation: steps },
      { name: "notify", function: steps },
    ],
    jobTable: new Table(scope, `${id}Jobs`, {
      partitionKey: { name: "jobId", type: AttributeType.STRING },
    }),
  });
}

describe("workflow kind", () => {
  const stack = newStack();
  monitoringWithKinds(stack);
  const workflow = saga(stack);
  const template = Template.fromStack(stack);
  const topic = topicRef(template);

  it("adopts the workflow's own failed, timed-out and aborted alarms instead of duplicating them", () => {
    for (const [metric, signal] of [
      ["ExecutionsFailed", "failed"],
      ["ExecutionsTimedOut", "timed-out"],
      ["ExecutionsAborted", "aborted"],
    ] as const) {
      const onMetric = alarmsOnMetric(template, metric);
      expect(onMetric, metric).toHaveLength(1);
      expect(onMetric[0]).toMatchObject({
        AlarmName: `Ops-workflow-fulfilment-${signal}`,
        Namespace: "AWS/States",
        Dimensions: [{ Name: "StateMachineArn", Value: { Ref: expect.any(String) } }],
        Statistic: "Sum",
        Period: 60,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        AlarmActions: [topic],
        OKActions: [topic],
      });
      expect(onMetric[0]?.Metrics).toBeUndefined();
    }
    // The construct's alarm objects are the ones in the template.
    expect(workflow.failedExecutionsAlarm.node.path).toContain("Fulfilment/ExecutionsFailedAlarm");
  });

  it("alarms on status changes the job table never got", () => {
    expect(alarmNamed(template, "Ops-workflow-fulfilment-status-sync-dead-letters")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: {
            "Fn::GetAtt": [
              stack.getLogicalId(workflow.statusSyncDeadLetterQueue?.node.defaultChild as never),
              "QueueName",
            ],
          },
        },
      ],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic],
    });
  });

  it("draws a Workflows section: executions, execution time against the timeout, status sync", () => {
    const body = dashboardBody(template);
    expect(body).toContain("## Workflows");
    for (const text of [
      "fulfilment: executions",
      "ExecutionsStarted",
      "ExecutionsSucceeded",
      "ExecutionsAborted",
      "fulfilment: execution time (ms)",
      "ExecutionTime",
      '\\"value\\":3600000,\\"label\\":\\"timeout\\"',
      "fulfilment: job status changes not recorded",
    ]) {
      expect(body, text).toContain(text);
    }
    // A kind the stack has nothing of gets no empty section.
    expect(body).not.toContain("## Delayed tasks");
  });

  it("with alarms off leaves the workflow's alarms as they are and adds none", () => {
    const other = newStack();
    const monitoring = monitoringWithKinds(other);
    const quiet = saga(other);
    monitoring.monitor(quiet, { alarms: false });
    const t = Template.fromStack(other);
    const failed = alarmsOnMetric(t, "ExecutionsFailed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.AlarmActions).toBeUndefined();
    expect(failed[0]?.AlarmName).toBeUndefined();
    expect(alarms(t).some((a) => String(a.AlarmName).includes("workflow-"))).toBe(false);
    expect(dashboardBody(t)).toContain("fulfilment: executions");
  });

  it("refuses to adopt an alarm that watches metric math", () => {
    const other = newStack();
    const monitoring = new SpoolMonitoring(other, "Monitoring");
    const holder = new Construct(other, "Holder");
    const metric = new Metric({ namespace: "X", metricName: "Y" });
    new Alarm(holder, "Math", {
      metric: new MathExpression({ expression: "m * 2", usingMetrics: { m: metric } }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    monitoring.addKind({
      name: "holder",
      title: "Holders",
      matches: (c: IConstruct): c is Construct => c === holder,
      monitor(resource, context) {
        context.adoptAlarm("math", resource.node.findChild("Math") as Alarm);
      },
    });
    expect(() => Template.fromStack(other)).toThrow(
      /alarm Ops\/Holder\/Math must watch a single metric, not math/,
    );
  });

  it("names the option and the value it refuses", () => {
    expect(() => workflowKind({ maxStatusSyncDeadLetters: -1 })).toThrow(
      "workflowAlarms.maxStatusSyncDeadLetters must be an integer of at least 0, got -1",
    );
  });
});

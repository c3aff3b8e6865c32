import { App, Duration, Stack, TimeZone } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Alarm, MathExpression, Metric } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { ScheduleExpression, ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { Construct, type IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { DelayedTasks } from "../../../../lib/spool/delayed-tasks/index.js";
import { delayedTasksKind } from "../../../../lib/spool/delayed-tasks/monitoring.js";
import { RecurringJob, RecurringJobTarget } from "../../../../lib/spool/recurring-job/index.js";
import { recurringJobKind } from "../../../../lib/spool/recurring-job/monitoring.js";
import { ReliableQueue } from "../../../../lib/spool/reliable-queue/index.js";
import { SagaWorkflow } from "../../../../lib/spool/saga-workflow/index.js";
import { workflowKind } from "../../../../lib/spool/saga-workflow/monitoring.js";
import { SpoolMonitoring } from "../../../../lib/spool/spool-monitoring/index.js";
import { allStacks } from "../../../helpers/all-stacks.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Templates only: no esbuild bundling of the sampler. */
function newStack() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  return new Stack(app, "Ops", { env: { account: "111111111111", region: "eu-west-1" } });
}

function monitoringWithKinds(stack: Stack) {
  const monitoring = new SpoolMonitoring(stack, "Monitoring");
  monitoring.addKind(workflowKind());
  monitoring.addKind(delayedTasksKind());
  monitoring.addKind(recurringJobKind());
  return monitoring;
}

function alarms(template: Template) {
  return Object.entries(template.findResources("AWS::CloudWatch::Alarm") as Resources).map(
    ([logicalId, a]) => ({ logicalId, ...a.Properties }) as Record<string, unknown>,
  );
}

function alarmNamed(template: Template, name: string) {
  const found = alarms(template).find((a) => a.AlarmName === name);
  if (!found) {
    const names = alarms(template).map((a) => a.AlarmName);
    throw new Error(`no alarm ${name}; alarms: ${JSON.stringify(names)}`);
  }
  return found;
}

function alarmsOnMetric(template: Template, metricName: string) {
  return alarms(template).filter((a) => a.MetricName === metricName);
}

function topicRef(template: Template) {
  const [logicalId] = Object.keys(template.findResources("AWS::SNS::Topic"));
  return { Ref: logicalId };
}

function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(
    template.findResources("AWS::CloudWatch::Dashboard") as Resources,
  );
  return JSON.stringify(dashboard?.Properties.DashboardBody);
}

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

function nightly(scope: Construct, target: ReliableQueue, id: string, jobName: string) {
  return new RecurringJob(scope, id, {
    jobName,
    schedule: ScheduleExpression.cron({ minute: "0", hour: "2", timeZone: TimeZone.EUROPE_BERLIN }),
    target: RecurringJobTarget.queue(target),
    scheduleGroup: (scope.node.tryFindChild("Group") as ScheduleGroup | undefined) ?? undefined,
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

describe("delayed-tasks kind", () => {
  const stack = newStack();
  monitoringWithKinds(stack);
  const target = new ReliableQueue(stack, "CartReminders");
  const tasks = new DelayedTasks(stack, "Tasks", { targets: [target.queue] });
  const template = Template.fromStack(stack);
  const topic = topicRef(template);
  const group = tasks.scheduleGroup.scheduleGroupName;

  it("alarms when a task the Scheduler could not deliver reaches the dead-letter queue", () => {
    expect(alarmNamed(template, "Ops-delayed-tasks-tasks-target-failures")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: {
            "Fn::GetAtt": [
              stack.getLogicalId(tasks.deadLetterQueue.node.defaultChild as never),
              "QueueName",
            ],
          },
        },
      ],
      Statistic: "Maximum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it("alarms when the Scheduler could not even dead-letter a task of its group", () => {
    expect(alarmNamed(template, "Ops-delayed-tasks-tasks-dead-letter-failures")).toMatchObject({
      Namespace: "AWS/Scheduler",
      MetricName: "InvocationsFailedToBeSentToDeadLetterCount",
      Dimensions: [{ Name: "ScheduleGroup", Value: group }],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic],
    });
  });

  it("draws a Delayed tasks section from the Scheduler's group metrics and the DLQ", () => {
    const body = dashboardBody(template);
    expect(body).toContain("## Delayed tasks");
    for (const text of [
      `tasks: one-time schedules (group ${group})`,
      "InvocationAttemptCount",
      "TargetErrorCount",
      "InvocationsSentToDeadLetterCount",
      "InvocationDroppedCount",
      "tasks: undelivered tasks",
    ]) {
      expect(body, text).toContain(text);
    }
  });

  it("names the option and the value it refuses", () => {
    expect(() => delayedTasksKind({ maxUndeliveredTasks: 1.5 })).toThrow(
      "delayedTasksAlarms.maxUndeliveredTasks must be an integer of at least 0, got 1.5",
    );
  });
});

describe("recurring-job kind", () => {
  function jobsStack(options: { queueAlarms?: boolean } = {}) {
    const stack = newStack();
    const monitoring = monitoringWithKinds(stack);
    // The jobs live in a subtree that comes before their queue: discovery order must not decide
    // which alarm a shared condition is named after.
    const early = new Construct(stack, "Early");
    new ScheduleGroup(early, "Group");
    const queue = new ReliableQueue(stack, "Jobs");
    if (options.queueAlarms === false) monitoring.monitor(queue, { alarms: false });
    const jobs = [
      nightly(early, queue, "Nightly", "nightly-reconciliation"),
      nightly(early, queue, "Weekly", "weekly-report"),
    ];
    return { stack, queue, jobs, template: Template.fromStack(stack) };
  }

  it("pages once for a dead letter of the shared target queue: the queue's alarm, reused", () => {
    const { template } = jobsStack();
    const onVisible = alarmsOnMetric(template, "ApproximateNumberOfMessagesVisible").filter(
      (a) => a.Threshold === 0,
    );
    expect(onVisible.map((a) => a.AlarmName)).toEqual(["Ops-queue-jobs-dead-letters"]);
    expect(
      alarms(template).filter((a) => String(a.AlarmName).startsWith("Ops-recurring-job-")),
    ).toHaveLength(1);
  });

  it("alarms once per schedule group when the Scheduler could not dead-letter a run", () => {
    const { template, jobs } = jobsStack();
    const lost = alarmsOnMetric(template, "InvocationsFailedToBeSentToDeadLetterCount");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      Namespace: "AWS/Scheduler",
      Dimensions: [{ Name: "ScheduleGroup", Value: jobs[0]?.scheduleGroupName }],
      AlarmName: "Ops-recurring-job-nightly-reconciliation-dead-letter-failures",
    });
  });

  it("alarms on the target queue's DLQ itself when the queue's own alarms are off", () => {
    const { template, queue, stack } = jobsStack({ queueAlarms: false });
    const onDlq = alarmsOnMetric(template, "ApproximateNumberOfMessagesVisible");
    expect(onDlq.map((a) => a.AlarmName)).toEqual([
      "Ops-recurring-job-nightly-reconciliation-target-failures",
    ]);
    expect(onDlq[0]?.Dimensions).toEqual([
      {
        Name: "QueueName",
        Value: {
          "Fn::GetAtt": [
            stack.getLogicalId(queue.deadLetterQueue.node.defaultChild as never),
            "QueueName",
          ],
        },
      },
    ]);
  });

  it("draws a Recurring jobs section with a row per job, named by job name", () => {
    const body = dashboardBody(jobsStack().template);
    expect(body).toContain("## Recurring jobs");
    expect(body).toContain("nightly-reconciliation: undelivered runs");
    expect(body).toContain("weekly-report: schedule group");
  });

  it("defaults the schedule group to the account's default group", () => {
    const stack = newStack();
    monitoringWithKinds(stack);
    const queue = new ReliableQueue(stack, "Jobs");
    new RecurringJob(stack, "Hourly", {
      jobName: "hourly",
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target: RecurringJobTarget.queue(queue),
    });
    expect(
      alarmsOnMetric(Template.fromStack(stack), "InvocationsFailedToBeSentToDeadLetterCount")[0]
        ?.Dimensions,
    ).toEqual([{ Name: "ScheduleGroup", Value: "default" }]);
  });
});

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

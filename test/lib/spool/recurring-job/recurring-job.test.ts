import { Duration, Stack, TimeZone } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { ScheduleExpression, ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import {
  OverlapPolicy,
  RecurringJob,
  type RecurringJobProps,
  RecurringJobTarget,
} from "../../../../lib/spool/recurring-job/index.js";
import { templateApp } from "../../../helpers/template-app.js";

interface ScheduleProperties {
  readonly Target: { readonly Input: string };
  readonly [property: string]: unknown;
}
interface PolicyResource {
  readonly Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } };
}
interface FunctionResource {
  readonly Properties: { Environment: { Variables: Record<string, unknown> } };
}

function setup(props: Partial<RecurringJobProps> = {}, fifo = false) {
  const stack = new Stack(templateApp(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const jobs = {
    queue: new Queue(stack, "Jobs", fifo ? { fifo: true, contentBasedDeduplication: true } : {}),
    deadLetterQueue: new Queue(stack, "JobsDlq", fifo ? { fifo: true } : {}),
    fifo,
  };
  const job = new RecurringJob(stack, "Nightly", {
    jobName: "nightly-reconciliation",
    schedule: ScheduleExpression.cron({ minute: "0", hour: "2", timeZone: TimeZone.EUROPE_BERLIN }),
    target: RecurringJobTarget.queue(jobs, fifo ? { messageGroupId: "jobs" } : {}),
    ...props,
  });
  const worker = new LambdaFunction(stack, "Worker", {
    runtime: Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => {}"),
  });
  job.bindWorker(worker);
  return { stack, job, worker, template: Template.fromStack(stack) };
}

describe("RecurringJob defaults", () => {
  const { template } = setup();
  const schedule = () =>
    Object.values(template.findResources("AWS::Scheduler::Schedule"))[0]
      ?.Properties as ScheduleProperties;

  it("schedules cron in its time zone, named after stack and job, with retries and the queue's DLQ", () => {
    expect(schedule()).toMatchObject({
      Name: "Test-nightly-reconciliation",
      ScheduleExpression: "cron(0 2 * * ? *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "OFF" },
      State: "ENABLED",
      Target: {
        Arn: { "Fn::GetAtt": [expect.stringMatching(/^Jobs/), "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [expect.stringMatching(/^JobsDlq/), "Arn"] } },
        // A delivery later than the max lateness (1 h) would be skipped: stop retrying then.
        RetryPolicy: { MaximumEventAgeInSeconds: 3_600, MaximumRetryAttempts: 185 },
      },
    });
  });

  it("sends the job's name and the Scheduler's scheduled time in every run", () => {
    expect(JSON.parse(schedule().Target.Input)).toEqual({
      kind: "spool.recurring-run",
      schemaVersion: 1,
      job: "nightly-reconciliation",
      scheduledTime: "<aws.scheduler.scheduled-time>",
      executionId: "<aws.scheduler.execution-id>",
      source: "schedule",
    });
  });

  it("creates a runs table with TTL and point-in-time recovery, kept on delete", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      Properties: {
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      DeletionPolicy: "RetainExceptOnCreate",
    });
  });

  it("gives the Scheduler a role that may only send to the queue and its DLQ", () => {
    const policies = Object.entries(template.findResources("AWS::IAM::Policy")).filter(([id]) =>
      id.startsWith("SchedulerRoleForTarget"),
    );
    const actions = policies.flatMap(([, p]) =>
      (p as PolicyResource).Properties.PolicyDocument.Statement.flatMap((s) => [s.Action].flat()),
    );
    expect(new Set(actions)).toEqual(new Set(["sqs:SendMessage"]));
  });

  it("binds the worker: job definition in its environment, run-table and GetSchedule grants", () => {
    const fn = Object.values(
      template.findResources("AWS::Lambda::Function"),
    )[0] as FunctionResource;
    const env = JSON.stringify(fn.Properties.Environment.Variables.SPOOL_RECURRING_JOBS);
    for (const fragment of [
      '\\"name\\":\\"nightly-reconciliation\\"',
      '\\"schedule\\":\\"cron(0 2 * * ? *)\\"',
      '\\"timeZone\\":\\"Europe/Berlin\\"',
      '\\"maxLatenessSeconds\\":3600',
      '\\"overlap\\":\\"allow\\"',
      '\\"maxRunSeconds\\":900',
      '\\"scheduleGroup\\":\\"default\\"',
      '\\"scheduleName\\":\\"Test-nightly-reconciliation\\"',
    ]) {
      expect(env).toContain(fragment);
    }
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("WorkerServiceRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              "dynamodb:GetItem",
              "dynamodb:PutItem",
              "dynamodb:UpdateItem",
              "dynamodb:DeleteItem",
            ],
          }),
          Match.objectLike({
            Action: "scheduler:GetSchedule",
            // Its own schedule only (for the rate() anchor of the sent-timestamp fallback).
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("NightlySchedule"), "Arn"] },
          }),
        ]),
      },
    });
  });
});

describe("RecurringJob schedule names", () => {
  const scheduleNames = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources("AWS::Scheduler::Schedule")).map(
      (r) => (r.Properties as { Name: string }).Name,
    );
  const jobIn = (stack: Stack, props: Partial<RecurringJobProps> = {}) =>
    new RecurringJob(stack, "Job", {
      jobName: "nightly-reconciliation",
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target: RecurringJobTarget.queue({
        queue: new Queue(stack, "Q"),
        deadLetterQueue: new Queue(stack, "Dlq"),
        fifo: false,
      }),
      ...props,
    });

  it("gives two stacks' jobs of one name in the shared default group distinct names", () => {
    const app = templateApp();
    const a = new Stack(app, "SpoolBlue");
    const b = new Stack(app, "SpoolGreen");
    jobIn(a);
    jobIn(b);
    const [nameA] = scheduleNames(a);
    const [nameB] = scheduleNames(b);
    expect(nameA).toBe("SpoolBlue-nightly-reconciliation");
    expect(nameB).toBe("SpoolGreen-nightly-reconciliation");
  });

  it("shortens a name past Scheduler's 64 characters with a hash that keeps it unique", () => {
    const app = templateApp();
    const stackName = `Spool-${"a".repeat(60)}`;
    const a = new Stack(app, "A", { stackName: `${stackName}-1` });
    const b = new Stack(app, "B", { stackName: `${stackName}-2` });
    jobIn(a);
    jobIn(b);
    const [nameA = ""] = scheduleNames(a);
    const [nameB = ""] = scheduleNames(b);
    for (const name of [nameA, nameB]) {
      expect(name.length).toBeLessThanOrEqual(64);
      expect(name).toMatch(/^Spool-a+-[0-9a-f]{10}$/);
    }
    expect(nameA).not.toBe(nameB);
  });

  it("names the schedule after the job alone in a group of its own, or as told", () => {
    const stack = new Stack(templateApp(), "Spool");
    const group = new ScheduleGroup(stack, "Group");
    jobIn(stack, { scheduleGroup: group });
    const other = new Stack(templateApp(), "Spool");
    jobIn(other, { scheduleName: "reconcile" });
    expect(scheduleNames(stack)).toEqual(["nightly-reconciliation"]);
    expect(scheduleNames(other)).toEqual(["reconcile"]);
  });
});

describe("RecurringJob options", () => {
  it("sets a flexible window, overlap policy and explicit retry policy", () => {
    const { template, job } = setup({
      flexibleWindow: Duration.minutes(15),
      overlap: OverlapPolicy.SKIP_IF_RUNNING,
      maxLateness: Duration.hours(6),
      retryAttempts: 10,
      maxEventAge: Duration.hours(2),
    });
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      Target: Match.objectLike({
        RetryPolicy: { MaximumEventAgeInSeconds: 7_200, MaximumRetryAttempts: 10 },
      }),
    });
    expect(job.definition).toMatchObject({
      overlap: "skip-if-running",
      maxLatenessSeconds: 21_600,
    });
  });

  it("sends to a FIFO queue with its message group", () => {
    const { template } = setup({}, true);
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Target: Match.objectLike({ SqsParameters: { MessageGroupId: "jobs" } }),
    });
  });

  it("takes rate() schedules", () => {
    const { job } = setup({ schedule: ScheduleExpression.rate(Duration.minutes(5)) });
    expect(job.definition.schedule).toBe("rate(5 minutes)");
  });

  it("needs a message group and content-based deduplication for a FIFO queue", () => {
    const stack = new Stack(templateApp(), "Test");
    const target = (dedup: boolean, id: string) => ({
      queue: new Queue(stack, `Q${id}`, { fifo: true, contentBasedDeduplication: dedup }),
      deadLetterQueue: new Queue(stack, `D${id}`, { fifo: true }),
      fifo: true,
    });
    const job = (id: string, t: ReturnType<typeof target>, messageGroupId?: string) =>
      new RecurringJob(stack, id, {
        jobName: id,
        schedule: ScheduleExpression.rate(Duration.hours(1)),
        target: RecurringJobTarget.queue(t, messageGroupId ? { messageGroupId } : {}),
      });
    expect(() => job("a", target(true, "a"))).toThrow(/target: a FIFO queue needs messageGroupId/);
    expect(() => job("b", target(false, "b"), "g")).toThrow(
      /contentBasedDeduplication must be true/,
    );
    expect(() => job("c", target(true, "c"), "g")).not.toThrow();
  });

  it.each([
    [
      { jobName: "has space" },
      /jobName must be 1–64 letters, digits, hyphens, underscores or dots, got "has space"/,
    ],
    [
      { schedule: ScheduleExpression.at(new Date("2030-01-01T00:00:00Z")) },
      /schedule must be a cron\(\) or rate\(\) expression: a recurring schedule needs cron\(\.\.\.\) or rate\(\.\.\.\), got at\(2030-01-01T00:00:00\)/,
    ],
    [{ maxLateness: Duration.seconds(30) }, /maxLateness must be at least 60 s, got 30 s/],
    [
      { flexibleWindow: Duration.hours(2) },
      /flexibleWindow must be shorter than maxLateness \(3600 s\), .* got 7200 s/,
    ],
    [
      { maxRunDuration: Duration.hours(13) },
      /maxRunDuration must be from 1 second to 12 hours, got 46800 s/,
    ],
    [
      { runRetention: Duration.minutes(30) },
      /runRetention must be longer than maxLateness \(3600 s\), got 1800 s/,
    ],
    [{ retryAttempts: -1 }, /retryAttempts must be an integer from 0 to 185, got -1/],
    [
      { maxEventAge: Duration.days(2) },
      /maxEventAge must be from 60 seconds to 24 hours, got 172800 s/,
    ],
  ])("fails synthesis for %o, naming the prop and value", (props, message) => {
    expect(() => setup(props as Partial<RecurringJobProps>)).toThrow(message);
  });

  it("refuses two jobs of one name on one worker", () => {
    const { stack, worker } = setup();
    const other = new RecurringJob(stack, "Again", {
      jobName: "nightly-reconciliation",
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target: RecurringJobTarget.queue({
        queue: new Queue(stack, "Q2"),
        deadLetterQueue: new Queue(stack, "D2"),
        fifo: false,
      }),
    });
    expect(() => other.bindWorker(worker)).toThrow(
      /jobName must be unique per worker, got "nightly-reconciliation" twice/,
    );
  });
});

describe("RecurringJob worker binding", () => {
  it("refuses a worker whose timeout is not shorter than the run's lease (maxRunDuration)", () => {
    const stack = new Stack(templateApp(), "Test", {
      env: { account: "111111111111", region: "eu-west-1" },
    });
    const job = new RecurringJob(stack, "Nightly", {
      jobName: "nightly",
      schedule: ScheduleExpression.rate(Duration.hours(1)),
      target: RecurringJobTarget.queue({
        queue: new Queue(stack, "Jobs"),
        deadLetterQueue: new Queue(stack, "JobsDlq"),
        fifo: false,
      }),
      maxRunDuration: Duration.minutes(1),
    });
    const worker = new LambdaFunction(stack, "Worker", {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => {}"),
      timeout: Duration.minutes(2),
    });
    expect(() => job.bindWorker(worker)).toThrow(
      /maxRunDuration must be longer than the worker's timeout \(120 s\), got 60 s/,
    );
  });
});

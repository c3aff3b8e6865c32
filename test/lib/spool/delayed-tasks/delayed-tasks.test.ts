import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { DelayedTasks, type DelayedTasksProps } from "../../../../lib/spool/delayed-tasks/index.js";
import { expectRefusal } from "../../../helpers/errors.js";

function synth(props: Omit<DelayedTasksProps, "targets"> = {}, addOther = false) {
  const stack = new Stack(new App(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const target = new Queue(stack, "Reminders");
  const other = new Queue(stack, "Other");
  const tasks = new DelayedTasks(stack, "Tasks", { targets: [target], ...props });
  const fn = new LambdaFunction(stack, "Scheduler", {
    runtime: Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => {}"),
  });
  tasks.grantScheduling(fn);
  if (addOther) tasks.addTarget(other);
  return { stack, tasks, fn, template: Template.fromStack(stack), target, other };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
function statementsOf(template: Template, policyIdPrefix: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy") as Record<
    string,
    { Properties: { PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(policyIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("DelayedTasks defaults", () => {
  const { template, stack } = synth();

  it("creates a tasks table keyed by task key, with TTL and point-in-time recovery, kept on delete", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      Properties: {
        KeySchema: [{ AttributeName: "key", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      DeletionPolicy: "RetainExceptOnCreate",
    });
  });

  it("owns a schedule group and an encrypted, TLS-only dead-letter queue kept 14 days", () => {
    template.resourceCountIs("AWS::Scheduler::ScheduleGroup", 1);
    template.hasResourceProperties("AWS::SQS::Queue", {
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("lets only this account's schedules of this group assume the Scheduler role", () => {
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: "scheduler.amazonaws.com" },
            Condition: {
              StringEquals: {
                "aws:SourceAccount": "111111111111",
                "aws:SourceArn": { "Fn::GetAtt": [Match.stringLikeRegexp("TasksGroup"), "Arn"] },
              },
            },
          }),
        ],
      },
    });
  });

  it("lets the Scheduler role send to the targets and the DLQ and do nothing else", () => {
    const statements = statementsOf(template, "TasksSchedulerRoleDefaultPolicy");
    // CDK's grantSendMessages: send, plus the two reads SDKs make before sending.
    expect(new Set(statements.flatMap(actionsOf))).toEqual(
      new Set(["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]),
    );
    expect(JSON.stringify(statements.map((s) => s.Resource))).toMatch(/Reminders/);
    expect(JSON.stringify(statements.map((s) => s.Resource))).toMatch(/TasksDeadLetterQueue/);
    expect(JSON.stringify(statements)).not.toMatch(/Other/);
  });

  it("grants scheduling on the group's schedules only, never on *", () => {
    const statements = statementsOf(template, "SchedulerServiceRoleDefaultPolicy");
    const scheduling = statements.find((s) => actionsOf(s).includes("scheduler:CreateSchedule"));
    expect(actionsOf(scheduling as Statement).sort()).toEqual([
      "scheduler:CreateSchedule",
      "scheduler:DeleteSchedule",
      "scheduler:GetSchedule",
    ]);
    expect(stack.resolve(scheduling?.Resource)).toEqual({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":scheduler:eu-west-1:111111111111:schedule/Test-Tasks-4E3E2E29/*",
        ],
      ],
    });
  });

  it("grants iam:PassRole on exactly the Scheduler role, and send on the targets", () => {
    const statements = statementsOf(template, "SchedulerServiceRoleDefaultPolicy");
    const pass = statements.find((s) => actionsOf(s).includes("iam:PassRole"));
    expect(pass?.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^TasksSchedulerRole/), "Arn"],
    });
    for (const s of statements) expect(s.Resource).not.toBe("*");
    const send = statements.find((s) => actionsOf(s).includes("sqs:SendMessage"));
    expect(JSON.stringify(send?.Resource)).toMatch(/Reminders/);
  });

  it("writes the runtime's configuration into the function's environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_TASKS_TABLE: { Ref: Match.stringLikeRegexp("TasksTable") },
          SPOOL_TASKS_SCHEDULE_GROUP: "Test-Tasks-4E3E2E29",
          SPOOL_TASKS_SCHEDULER_ROLE_ARN: Match.anyValue(),
          SPOOL_TASKS_DEAD_LETTER_QUEUE_ARN: Match.anyValue(),
          SPOOL_TASKS_TARGETS: Match.anyValue(),
          SPOOL_TASKS_RETRY_POLICY: '{"maximumEventAgeSeconds":86400,"maximumRetryAttempts":185}',
          SPOOL_TASKS_RETENTION_SECONDS: "2592000",
        }),
      },
    });
  });
});

describe("DelayedTasks", () => {
  it("extends the Scheduler role and the granted functions to a target added later", () => {
    const { template } = synth({}, true);
    expect(JSON.stringify(statementsOf(template, "TasksSchedulerRoleDefaultPolicy"))).toMatch(
      /Other/,
    );
    expect(JSON.stringify(statementsOf(template, "SchedulerServiceRoleDefaultPolicy"))).toMatch(
      /Other/,
    );
  });

  it.each([
    [{ retryAttempts: 186 }, /retryAttempts must be an integer from 0 to 185, got 186/],
    [
      { maxEventAge: Duration.seconds(30) },
      /maxEventAge must be from 60 seconds to 24 hours, got 30 s/,
    ],
    [{ taskRetention: Duration.hours(2) }, /taskRetention must be at least 1 day, got 7200 s/],
    [{ scheduleGroupName: "has space" }, /scheduleGroupName must be .* got "has space"/],
  ])("fails synthesis for %o, naming the prop and value", (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe("DelayedTasks grantDelivery", () => {
  /** A stack with two targets and a consumer function, not yet synthesised. */
  function build() {
    const stack = new Stack(new App(), "Test", {
      env: { account: "111111111111", region: "eu-west-1" },
    });
    const target = new Queue(stack, "Reminders");
    const other = new Queue(stack, "Other");
    const tasks = new DelayedTasks(stack, "Tasks", { targets: [target] });
    const fn = new LambdaFunction(stack, "Deliverer", {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => {}"),
    });
    return { stack, tasks, fn, target, other };
  }
  const sendsTo = (template: Template) =>
    JSON.stringify(
      statementsOf(template, "DelivererServiceRoleDefaultPolicy")
        .filter((s) => actionsOf(s).includes("sqs:SendMessage"))
        .map((s) => s.Resource),
    );

  it("lets the consumer send an early task back to the queue it consumes, and no other", () => {
    const { stack, tasks, fn, target, other } = build();
    tasks.addTarget(other);
    tasks.grantDelivery(fn, target);
    const template = Template.fromStack(stack);
    expect(sendsTo(template)).toMatch(/Reminders/);
    expect(sendsTo(template)).not.toMatch(/Other/);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: { SPOOL_TASKS_TABLE: { Ref: Match.stringLikeRegexp("TasksTable") } },
      },
    });
  });

  it("without a target, covers every target, also one added later", () => {
    const { stack, tasks, fn, other } = build();
    tasks.grantDelivery(fn);
    tasks.addTarget(other);
    const sends = sendsTo(Template.fromStack(stack));
    expect(sends).toMatch(/Reminders/);
    expect(sends).toMatch(/Other/);
  });

  it("refuses a queue that is not a target, naming the construct and the queue", () => {
    const { stack, tasks, fn } = build();
    expectRefusal(
      () => tasks.grantDelivery(fn, new Queue(stack, "Stray")),
      "Test/Tasks",
      "grantDelivery: target must be one of the DelayedTasks targets, got Test/Stray",
    );
  });
});

describe("DelayedTasks FIFO targets", () => {
  const stackWithTasks = () => {
    const stack = new Stack(new App(), "Test", {
      env: { account: "111111111111", region: "eu-west-1" },
    });
    return { stack, tasks: new DelayedTasks(stack, "Tasks") };
  };

  it("refuses a FIFO target without content-based deduplication, naming it", () => {
    const { stack, tasks } = stackWithTasks();
    const fifo = new Queue(stack, "Ordered", { fifo: true });
    expect(() => tasks.addTarget(fifo)).toThrow(
      /targets: a FIFO queue needs contentBasedDeduplication .*got Test\/Ordered without it/,
    );
  });

  it("accepts a FIFO target that deduplicates by content", () => {
    const { stack, tasks } = stackWithTasks();
    const fifo = new Queue(stack, "Ordered", { fifo: true, contentBasedDeduplication: true });
    expect(() => tasks.addTarget(fifo)).not.toThrow();
  });
});

describe("DelayedTasks validation names the construct", () => {
  it("of two DelayedTasks in a stack, names the one refused, its prop and the value", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    new DelayedTasks(stack, "Reminders");
    expectRefusal(
      () => new DelayedTasks(stack, "Expiries", { retryAttempts: 186 }),
      "Stack/Expiries",
      "retryAttempts must be an integer from 0 to 185, got 186",
    );
  });

  it.each([
    [{ retryAttempts: -1 }, "retryAttempts must be an integer from 0 to 185, got -1"],
    [
      { maxEventAge: Duration.seconds(59) },
      "maxEventAge must be from 60 seconds to 24 hours, got 59 s",
    ],
    [
      { maxEventAge: Duration.hours(25) },
      "maxEventAge must be from 60 seconds to 24 hours, got 90000 s",
    ],
    [
      { scheduleGroupName: "g".repeat(65) },
      `scheduleGroupName must be 1–64 letters, digits, hyphens, underscores or dots, got "${"g".repeat(65)}"`,
    ],
  ])("refuses what the Scheduler would refuse at deploy: %j", (props, message) => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Stack");
    expectRefusal(() => new DelayedTasks(stack, "Tasks", props), "Stack/Tasks", message);
  });
});

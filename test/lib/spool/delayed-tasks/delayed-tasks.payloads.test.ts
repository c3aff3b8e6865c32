import { Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { DelayedTasks, type DelayedTasksProps } from "../../../../lib/spool/delayed-tasks/index.js";
import { PayloadStore } from "../../../../lib/spool/payload-store/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

/** DelayedTasks with a payloadStore: grants, environment and the lifecycle check. */

function build(
  props: Omit<DelayedTasksProps, "targets" | "payloadStore"> = {},
  storeExpiration: Duration | undefined = Duration.days(33),
  withStore = true,
) {
  const stack = new Stack(templateApp(), "Test", {
    env: { account: "111111111111", region: "eu-west-1" },
  });
  const target = new Queue(stack, "Reminders");
  const store = withStore
    ? new PayloadStore(stack, "Store", storeExpiration ? { expiration: storeExpiration } : {})
    : undefined;
  const make = () =>
    new DelayedTasks(stack, "Tasks", {
      targets: [target],
      maxDelay: Duration.days(2),
      ...props,
      ...(store ? { payloadStore: store } : {}),
    });
  const fn = (id: string, environment: Record<string, string> = {}) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => {}"),
      environment,
    });
  return { stack, store, target, make, fn };
}

type Statement = { Action: string | string[]; Resource: unknown };
function statementsOf(template: Template, policyIdPrefix: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy") as Record<
    string,
    { Properties: { PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(policyIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}
const s3Statements = (template: Template, prefix: string) =>
  statementsOf(template, prefix)
    .filter((s) => [s.Action].flat().some((a) => a.startsWith("s3:")))
    .map((s) => ({ Action: s.Action, Resource: s.Resource }));
const bucketArn = { "Fn::GetAtt": [Match.stringLikeRegexp("^StoreBucket"), "Arn"] };

describe("DelayedTasks with a payloadStore", () => {
  it("lets a scheduling function put objects under sha256/ only, and tells it the store", () => {
    const { stack, make, fn } = build();
    const tasks = make();
    tasks.grantScheduling(fn("Scheduler"));
    const template = Template.fromStack(stack);

    expect(s3Statements(template, "SchedulerServiceRoleDefaultPolicy")).toEqual([
      {
        Action: "s3:PutObject",
        Resource: {
          "Fn::Join": [
            "",
            [{ "Fn::GetAtt": [expect.stringMatching(/^StoreBucket/), "Arn"] }, "/sha256/*"],
          ],
        },
      },
    ]);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SPOOL_TASKS_PAYLOAD_BUCKET: { Ref: Match.stringLikeRegexp("^StoreBucket") },
          SPOOL_TASKS_OFFLOAD_THRESHOLD_BYTES: "262144",
          SPOOL_TASKS_MAX_DELAY_SECONDS: "172800",
        }),
      },
    });
    // The consumers' own variable is left alone: a scheduler may consume from another store.
    const scheduler = Object.values(
      template.findResources("AWS::Lambda::Function") as Record<
        string,
        { Properties: { Environment: { Variables: Record<string, unknown> } } }
      >,
    )[0];
    expect(scheduler?.Properties.Environment.Variables).not.toHaveProperty("SPOOL_PAYLOAD_BUCKET");
    expect(stack.resolve(tasks.runtimeConfig)).toMatchObject({
      payloadBucket: { Ref: expect.stringMatching(/^StoreBucket/) },
      offloadThresholdBytes: 262_144,
      maxDelaySeconds: 172_800,
    });
  });

  it("passes a lower offloadThresholdBytes to the scheduling function", () => {
    const { stack, make, fn } = build({ offloadThresholdBytes: 0 });
    make().grantScheduling(fn("Scheduler"));
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ SPOOL_TASKS_OFFLOAD_THRESHOLD_BYTES: "0" }),
      },
    });
  });

  it("lets a delivering consumer read objects (and list the bucket, so a missing one is NoSuchKey)", () => {
    const { stack, store, make, fn } = build();
    const consumer = fn("Deliverer", { SPOOL_PAYLOAD_BUCKET: store?.bucketName ?? "" });
    make().grantDelivery(consumer);
    const template = Template.fromStack(stack);
    expect(s3Statements(template, "DelivererServiceRoleDefaultPolicy")).toEqual([
      { Action: "s3:GetObject", Resource: { "Fn::Join": ["", [expect.anything(), "/*"]] } },
      {
        Action: "s3:ListBucket",
        Resource: expect.objectContaining({ "Fn::GetAtt": expect.anything() }),
      },
    ]);
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: "s3:ListBucket", Resource: bucketArn }),
        ]),
      },
    });
  });

  it("refuses at synth a delivering consumer that does not resolve the store's pointers", () => {
    const { stack, make, fn } = build();
    make().grantDelivery(fn("Deliverer"));
    expectRefusal(
      () => Template.fromStack(stack),
      "Test/Tasks",
      "grantDelivery: with a payloadStore, the consumer Test/Deliverer must resolve its pointers: give it payloadStore Test/Store at construction (QueueConsumer's payloadStore, which sets SPOOL_PAYLOAD_BUCKET), got none",
    );
  });

  it("refuses at synth a delivering consumer that resolves another store's pointers", () => {
    const { stack, make, fn } = build();
    const other = new PayloadStore(stack, "Other");
    make().grantDelivery(fn("Deliverer", { SPOOL_PAYLOAD_BUCKET: other.bucketName }));
    expect(() => Template.fromStack(stack)).toThrow(
      /the consumer Test\/Deliverer must resolve its pointers[\s\S]*got SPOOL_PAYLOAD_BUCKET=\{"Ref":"OtherBucket/,
    );
  });

  it("does not grant S3 or write the store's variables without a store", () => {
    const { stack, make, fn } = build({}, undefined, false);
    const tasks = make();
    tasks.grantScheduling(fn("Scheduler"));
    tasks.grantDelivery(fn("Deliverer"));
    const template = Template.fromStack(stack);
    expect(s3Statements(template, "SchedulerServiceRoleDefaultPolicy")).toEqual([]);
    expect(s3Statements(template, "DelivererServiceRoleDefaultPolicy")).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain("SPOOL_TASKS_PAYLOAD_BUCKET");
    expect(tasks.runtimeConfig).not.toHaveProperty("payloadBucket");
  });
});

describe("DelayedTasks payload validation names the construct, the prop and the value", () => {
  it("refuses a store whose objects a task could outlive (expiration ≤ maxDelay + taskRetention)", () => {
    // 2 days + 30 days = 32 days: 32 is not enough, 33 is (the example's choice).
    expectRefusal(
      () => build({}, Duration.days(32)).make(),
      "Test/Tasks",
      "payloadStore: its objects must outlive any task, so its expiration must be longer than maxDelay + taskRetention (2 days + 30 days), got 32 days (Test/Store): lower maxDelay or taskRetention, or raise the store's expiration",
    );
    expect(() => build({}, Duration.days(33)).make()).not.toThrow();
  });

  it("refuses the default store (35 days) with the default maxDelay (365 days)", () => {
    const stack = new Stack(templateApp(), "Test");
    const store = new PayloadStore(stack, "Store");
    expectRefusal(
      () => new DelayedTasks(stack, "Tasks", { payloadStore: store }),
      "Test/Tasks",
      "payloadStore: its objects must outlive any task, so its expiration must be longer than maxDelay + taskRetention (365 days + 30 days), got 35 days (Test/Store): lower maxDelay or taskRetention, or raise the store's expiration",
    );
  });

  it("counts taskRetention: a store of 29 days covers 2 + 7 days, not 2 + 30", () => {
    expect(() =>
      build({ taskRetention: Duration.days(7) }, Duration.days(29)).make(),
    ).not.toThrow();
    expect(() => build({}, Duration.days(29)).make()).toThrow(/\(2 days \+ 30 days\), got 29 days/);
  });

  it("refuses offloadThresholdBytes without a store, and out of range", () => {
    expectRefusal(
      () => build({ offloadThresholdBytes: 1_000 }, undefined, false).make(),
      "Test/Tasks",
      "offloadThresholdBytes needs a payloadStore to offload to, got 1000 without one",
    );
    expectRefusal(
      () => build({ offloadThresholdBytes: 262_145 }).make(),
      "Test/Tasks",
      "offloadThresholdBytes must be an integer from 0 to 262144, got 262145",
    );
  });

  it("refuses a maxDelay beyond 365 days or not in whole seconds", () => {
    expectRefusal(
      () => build({ maxDelay: Duration.days(366) }, undefined, false).make(),
      "Test/Tasks",
      "maxDelay must be whole seconds from 1 second to 365 days, got 31622400 s",
    );
    expectRefusal(
      () => build({ maxDelay: Duration.millis(1_500) }, undefined, false).make(),
      "Test/Tasks",
      "maxDelay must be whole seconds from 1 second to 365 days, got 1.5 s",
    );
  });
});

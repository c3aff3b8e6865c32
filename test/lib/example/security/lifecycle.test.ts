import { readFileSync } from "node:fs";
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { awsTemplate } from "../../../../tools/scripts/lib/aws-template.js";
import {
  fixedNames,
  type LifecycleTemplate,
  RETAIN_ALLOWANCES,
  retainedFixedNames,
  sharedFixedNames,
  tablesNotRetainedExceptOnCreate,
} from "../../../../tools/scripts/lib/lifecycle.js";
import { templateApp } from "../../../helpers/template-app.js";

const ACCOUNT = { account: "123456789012", region: "us-east-1" };
const reference = awsTemplate() as unknown as LifecycleTemplate;

describe("lifecycle of the reference stack on AWS", () => {
  it("retains no resource with a fixed name on a failed create, unless its README says why", () => {
    // Sanity: the stack does fix names (queues, groups, alarms), so the check has work to do.
    expect(fixedNames(reference, { stackName: "Spool", ...ACCOUNT }).length).toBeGreaterThan(10);
    expect(
      retainedFixedNames(reference, { stackName: "Spool", ...ACCOUNT }, RETAIN_ALLOWANCES),
    ).toEqual([]);
  });

  it("gives every allowance a reason its README states", () => {
    for (const allowance of RETAIN_ALLOWANCES) {
      expect(readFileSync(allowance.readme, "utf8")).toContain(allowance.reason);
    }
  });

  it("keeps state tables on delete and replacement, but not after a rolled-back create", () => {
    const tables = Object.values(reference.Resources).filter(
      (r) => r.Type === "AWS::DynamoDB::Table",
    );
    expect(tables.length).toBeGreaterThanOrEqual(8);
    expect(tablesNotRetainedExceptOnCreate(reference)).toEqual([]);
  });

  it("names nothing the same in two stacks of one account", () => {
    const blue = awsTemplate("SpoolBlue") as unknown as LifecycleTemplate;
    const green = awsTemplate("SpoolGreen") as unknown as LifecycleTemplate;
    expect(
      sharedFixedNames(blue, { stackName: "SpoolBlue", ...ACCOUNT }, green, {
        stackName: "SpoolGreen",
        ...ACCOUNT,
      }),
    ).toEqual([]);
  });
});

describe("lifecycle checks catch what they look for", () => {
  function templateOf(build: (stack: Stack) => void): LifecycleTemplate {
    const stack = new Stack(templateApp(), "Probe", { env: ACCOUNT });
    build(stack);
    return Template.fromStack(stack).toJSON() as LifecycleTemplate;
  }
  const pseudo = { stackName: "Probe", ...ACCOUNT };

  it("flags a retained queue with a fixed name, and lets an allowance through", () => {
    const template = templateOf((stack) => {
      new Queue(stack, "Named", { queueName: "orders", removalPolicy: RemovalPolicy.RETAIN });
      new Queue(stack, "Generated", { removalPolicy: RemovalPolicy.RETAIN });
    });
    expect(retainedFixedNames(template, pseudo).map((r) => r.name)).toEqual(["orders"]);
    const allowance = { type: "AWS::SQS::Queue", name: /^orders$/, readme: "x", reason: "y" };
    expect(retainedFixedNames(template, pseudo, [allowance])).toEqual([]);
  });

  it("flags CDK's default for a schedule group: a fixed name, retained", () => {
    const template = templateOf((stack) => new ScheduleGroup(stack, "Group"));
    expect(retainedFixedNames(template, pseudo).map((r) => r.type)).toEqual([
      "AWS::Scheduler::ScheduleGroup",
    ]);
  });

  it("flags a table that a rolled-back create would leave behind", () => {
    const template: LifecycleTemplate = {
      Resources: {
        Kept: {
          Type: "AWS::DynamoDB::Table",
          DeletionPolicy: "Retain",
          UpdateReplacePolicy: "Retain",
        },
        Right: {
          Type: "AWS::DynamoDB::Table",
          DeletionPolicy: "RetainExceptOnCreate",
          UpdateReplacePolicy: "Retain",
        },
      },
    };
    expect(tablesNotRetainedExceptOnCreate(template)).toEqual([
      { logicalId: "Kept", deletionPolicy: "Retain", updateReplacePolicy: "Retain" },
    ]);
  });

  it("finds a name two stacks share, and sees the stack name keep names apart", () => {
    const fixed: LifecycleTemplate = {
      Resources: { Q: { Type: "AWS::SQS::Queue", Properties: { QueueName: "orders" } } },
    };
    const perStack: LifecycleTemplate = {
      Resources: {
        Q: {
          Type: "AWS::SQS::Queue",
          Properties: { QueueName: { "Fn::Join": ["-", [{ Ref: "AWS::StackName" }, "orders"]] } },
        },
      },
    };
    const a = { stackName: "A", ...ACCOUNT };
    const b = { stackName: "B", ...ACCOUNT };
    expect(sharedFixedNames(fixed, a, fixed, b)).toEqual(["AWS::SQS::Queue orders"]);
    expect(sharedFixedNames(perStack, a, perStack, b)).toEqual([]);
  });

  it("scopes a schedule's name by its group, the default group when none is given", () => {
    const template: LifecycleTemplate = {
      Resources: {
        S: { Type: "AWS::Scheduler::Schedule", Properties: { Name: "nightly" } },
        G: {
          Type: "AWS::Scheduler::Schedule",
          Properties: { Name: "nightly", GroupName: { Ref: "Generated" } },
        },
      },
    };
    expect(fixedNames(template, pseudo).map((r) => r.name)).toEqual(["default/nightly"]);
  });
});

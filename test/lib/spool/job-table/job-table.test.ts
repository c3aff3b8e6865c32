import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, it } from "vitest";
import { JobTable } from "../../../../lib/spool/job-table/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

describe("JobTable validation", () => {
  it("accepts a tableName DynamoDB accepts", () => {
    const stack = new Stack(templateApp(), "Stack");
    new JobTable(stack, "Jobs", { tableName: "orders.jobs_v2" });
    Template.fromStack(stack).hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "orders.jobs_v2",
    });
  });

  it("of two tables, names the one whose tableName DynamoDB would refuse, and the name", () => {
    const stack = new Stack(templateApp(), "Stack");
    new JobTable(stack, "Orders");
    expectRefusal(
      () => new JobTable(stack, "Refunds", { tableName: "refund jobs" }),
      "Stack/Refunds",
      'tableName must be 3–255 letters, digits, underscores, hyphens or dots, got "refund jobs"',
    );
  });
});

describe("JobTable lifecycle", () => {
  it("keeps the table on delete but not after a rolled-back create, by default", () => {
    const stack = new Stack(templateApp(), "Stack");
    new JobTable(stack, "Jobs");
    Template.fromStack(stack).hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "RetainExceptOnCreate",
      UpdateReplacePolicy: "Retain",
    });
  });

  it("takes the removal policy it is given", () => {
    const stack = new Stack(templateApp(), "Stack");
    new JobTable(stack, "Jobs", { removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(stack).hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
  });
});

import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Table } from "aws-cdk-lib/aws-dynamodb";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import {
  grantIdempotencyRecords,
  IDEMPOTENCY_EXPIRY_ATTRIBUTE,
  IDEMPOTENCY_KEY_ATTRIBUTE,
  IdempotencyTable,
  type IdempotencyTableProps,
} from "../../../../lib/spool/idempotency-table/index.js";
import { expectRefusal } from "../../../helpers/errors.js";
import { templateApp } from "../../../helpers/template-app.js";

const IDEMPOTENCY_ACTIONS = [
  "dynamodb:DeleteItem",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
];

function synth(props?: IdempotencyTableProps) {
  const stack = new Stack(templateApp(), "Test", {
    env: { account: "111111111111", region: "us-east-1" },
  });
  const table = new IdempotencyTable(stack, "Idempotency", props);
  const role = new Role(stack, "ConsumerRole", {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
  });
  return { stack, table, role };
}

interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

function statementsOf(template: Template): PolicyStatement[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties
        .PolicyDocument.Statement,
  );
}

const actionsOf = (statement: PolicyStatement) =>
  (Array.isArray(statement.Action) ? statement.Action : [statement.Action]).slice().sort();

describe("IdempotencyTable", () => {
  const { stack, table } = synth();
  const template = Template.fromStack(stack);
  const tableId = Object.keys(template.findResources("AWS::DynamoDB::Table"))[0] as string;

  it("is one on-demand table keyed by the string attribute Powertools writes (id)", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
    expect(IDEMPOTENCY_KEY_ATTRIBUTE).toBe("id");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    });
  });

  it("expires records by TTL on the attribute Powertools writes (expiration)", () => {
    expect(IDEMPOTENCY_EXPIRY_ATTRIBUTE).toBe("expiration");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
    });
  });

  it("turns point-in-time recovery on by default", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it("retains the table when the stack is deleted, but not after a rolled-back create, by default", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "RetainExceptOnCreate",
      UpdateReplacePolicy: "Retain",
    });
  });

  it("has no provisioned throughput and a generated name by default", () => {
    const props = (
      template.findResources("AWS::DynamoDB::Table")[tableId] as {
        Properties: Record<string, unknown>;
      }
    ).Properties;
    expect(props.ProvisionedThroughput).toBeUndefined();
    expect(props.TableName).toBeUndefined();
    expect(stack.resolve(table.tableName)).toEqual({ Ref: tableId });
  });
});

describe("IdempotencyTable options", () => {
  it("honours tableName, removalPolicy and pointInTimeRecovery false", () => {
    const { stack } = synth({
      tableName: "idem",
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: false,
    });
    const template = Template.fromStack(stack);
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Delete",
      Properties: {
        TableName: "idem",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      },
    });
  });
});

describe("grantIdempotency", () => {
  it("grants exactly GetItem/PutItem/UpdateItem/DeleteItem on the table ARN", () => {
    const { stack, table, role } = synth();
    table.grantIdempotency(role);
    const template = Template.fromStack(stack);
    const tableId = Object.keys(template.findResources("AWS::DynamoDB::Table"))[0] as string;
    const statements = statementsOf(template);
    expect(statements).toHaveLength(1);
    const [statement] = statements as [PolicyStatement];
    expect(statement.Effect).toBe("Allow");
    expect(actionsOf(statement)).toEqual(IDEMPOTENCY_ACTIONS);
    // The table itself, not its indexes and not "*".
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    expect(resources).toEqual([{ "Fn::GetAtt": [tableId, "Arn"] }]);
  });

  it("grants no wildcard action and no Scan/Query/batch call", () => {
    const { stack, table, role } = synth();
    table.grantIdempotency(role);
    const actions = statementsOf(Template.fromStack(stack)).flatMap(actionsOf);
    for (const action of actions) {
      expect(action).not.toContain("*");
      expect(action).not.toMatch(/Scan|Query|Batch|Transact/);
    }
  });

  it("grants the same on a table Spool did not create (grantIdempotencyRecords)", () => {
    const { stack, role } = synth();
    const imported = Table.fromTableName(stack, "Shared", "shared-idempotency");
    grantIdempotencyRecords(imported, role);
    const statements = statementsOf(Template.fromStack(stack));
    expect(statements).toHaveLength(1);
    const [statement] = statements as [PolicyStatement];
    expect(actionsOf(statement)).toEqual(IDEMPOTENCY_ACTIONS);
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    expect(JSON.stringify(stack.resolve(resources))).toContain(":table/shared-idempotency");
  });
});

describe("IdempotencyTable validation", () => {
  it("of two tables, names the one whose tableName DynamoDB would refuse, and the name", () => {
    const stack = new Stack(templateApp(), "Stack");
    new IdempotencyTable(stack, "Orders", { tableName: "orders-idempotency" });
    expectRefusal(
      () => new IdempotencyTable(stack, "Payments", { tableName: "pa" }),
      "Stack/Payments",
      'tableName must be 3–255 letters, digits, underscores, hyphens or dots, got "pa"',
    );
  });
});

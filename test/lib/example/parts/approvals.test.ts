import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table } from "aws-cdk-lib/aws-dynamodb";
import { describe, expect, it } from "vitest";
import { Approvals } from "../../../../lib/example/parts/approvals.js";
import { JobTable } from "../../../../lib/spool/job-table/index.js";

/** The approval part alone, without bundling (its wiring is what matters here). */
function synth() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Part", { env: { account: "000000000000", region: "us-east-1" } });
  const jobs = new JobTable(stack, "Jobs");
  const effects = new Table(stack, "Effects", {
    partitionKey: { name: "pk", type: AttributeType.STRING },
    sortKey: { name: "sk", type: AttributeType.STRING },
  });
  new Approvals(stack, "Approvals", { jobs, effectsTable: effects, handlerEnvironment: {} });
  return Template.fromStack(stack);
}

describe("the approval saga part (test hooks)", () => {
  const template = synth();

  it("lets its steps update the effects rows and the job's waiting entry, and nothing else of either table", () => {
    const statements = Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes("ApprovalSteps"))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
      );
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes("dynamodb:"));
    expect(dynamo).toHaveLength(2);
    for (const s of dynamo) expect(s.Action).toBe("dynamodb:UpdateItem");
    const tables = dynamo.map((s) => JSON.stringify(s.Resource));
    expect(tables.some((r) => r.includes("JobsTable"))).toBe(true);
    expect(tables.some((r) => r.includes("Effects"))).toBe(true);
  });

  it("tells its steps where the job table is", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          JOBS_TABLE: { Ref: Match.stringLikeRegexp("^JobsTable") },
          EFFECTS_TABLE: { Ref: Match.stringLikeRegexp("^Effects") },
        }),
      },
    });
  });
});

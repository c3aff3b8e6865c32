import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { allStacks } from "../../../helpers/all-stacks.js";

const stacks = allStacks();

describe.each(stacks)("cdk-nag on $name", ({ stack }) => {
  it.each([
    ["AwsSolutions", new AwsSolutionsChecks()],
    ["Serverless", new ServerlessChecks()],
  ])("%s pack: no unacknowledged finding", (_name, pack) => {
    const report = pack.validateScope(stack);
    const findings = report.violations.map(
      (v) =>
        `${v.ruleName}: ${v.violatingResources.map((r) => r.locations?.join(" ") ?? r.resourceLogicalId).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });

  it("gives every acknowledgment a specific reason", () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === "aws:cdk:acknowledged-rules"))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) {
      // A specific reason, not "ok" or "suppressed": at least a sentence.
      expect(reason.length, `reason for ${id}`).toBeGreaterThan(40);
    }
  });
});

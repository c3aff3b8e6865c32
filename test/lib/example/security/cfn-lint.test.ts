import { describe, expect, it } from "vitest";
import { cfnLint, ensureCfnLint, formatFinding } from "../../../../tools/scripts/cfn-lint.js";
import { awsTemplate } from "../../../../tools/scripts/lib/aws-template.js";

/**
 * cfn-lint checks the real-AWS synth against CloudFormation's own schemas and rules: property
 * ranges, enum values, deprecated runtimes, what no emulator enforces. The pinned linter is
 * installed into .spool/cfn-lint on first use; ignored rules are in .cfnlintrc with reasons.
 */
describe("cfn-lint over the real-AWS synth", () => {
  it("reports no finding (beyond the rules .cfnlintrc ignores with a reason)", async () => {
    ensureCfnLint();
    const findings = await cfnLint(awsTemplate());
    expect(findings.map(formatFinding)).toEqual([]);
  }, 180_000);

  it("would report a property CloudFormation refuses (the linter really runs)", async () => {
    const template = awsTemplate() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const [id, queue] =
      Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::SQS::Queue") ?? [];
    if (!id || !queue) throw new Error("the stack has no queue");
    queue.Properties.MessageRetentionPeriod = 30; // SQS allows 60 s to 14 days
    const findings = await cfnLint(template);
    expect(findings.some((f) => f.Level === "Error" && f.Location.Path?.includes(id))).toBe(true);
  }, 180_000);
});

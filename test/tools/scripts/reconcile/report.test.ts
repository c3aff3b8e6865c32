import { describe, expect, it } from "vitest";
import { formatReport, type ReconcileReport } from "../../../../tools/scripts/reconcile/report.js";

const report: ReconcileReport = {
  stack: "Spool",
  checked: 12,
  gaps: [
    {
      logicalId: "OutboxTable",
      type: "AWS::DynamoDB::Table",
      property: "TimeToLiveSpecification",
      declared: { AttributeName: "expiresAt", Enabled: true },
      observed: { Enabled: false },
      action: "fixed",
    },
    {
      logicalId: "Flow",
      type: "AWS::StepFunctions::StateMachine",
      property: "TracingConfiguration",
      declared: true,
      observed: undefined,
      action: "not-fixable",
      note: "nothing to trace to",
    },
    {
      logicalId: "Orders",
      type: "AWS::SQS::Queue",
      property: "RedrivePolicy",
      declared: `arn:aws:sqs:us-east-1:000000000000:${"x".repeat(80)}`,
      observed: "10",
      action: "fix-failed",
    },
  ],
  notInspected: { "AWS::IAM::Role": 3, "AWS::Lambda::Function": 2 },
};

describe("formatReport", () => {
  const lines = formatReport(report).split("\n");

  it("opens with the counts of each action", () => {
    expect(lines[0]).toBe(
      "[reconcile] Spool: 12 declared properties checked; 3 gaps (1 fixed, 1 not fixable, 1 fix failed)",
    );
  });

  it("gives each gap one line: action, resource, property, declared, observed and note", () => {
    expect(lines[1]).toBe(
      '  fixed       OutboxTable TimeToLiveSpecification: declared {"AttributeName":"expiresAt","Enabled":true}, emulator had {"Enabled":false}',
    );
    expect(lines[2]).toBe(
      "  not-fixable Flow TracingConfiguration: declared true, emulator had (absent) (nothing to trace to)",
    );
  });

  it("cuts long values to 70 characters", () => {
    const declared = /declared (\S+),/.exec(lines[3] ?? "")?.[1];
    expect(declared).toHaveLength(70);
    expect(declared?.endsWith("...")).toBe(true);
  });

  it("lists the resource types it did not inspect", () => {
    expect(lines[4]).toBe("  not inspected: AWS::IAM::Role x3, AWS::Lambda::Function x2");
  });

  it("says a clean run in one line", () => {
    expect(formatReport({ stack: "Spool", checked: 4, gaps: [], notInspected: {} })).toBe(
      "[reconcile] Spool: 4 declared properties checked; 0 gaps (0 fixed, 0 not fixable, 0 fix failed)",
    );
  });
});

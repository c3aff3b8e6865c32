import { describe, expect, it } from "vitest";
import type { ResourceChecker } from "../../../../../tools/scripts/reconcile/check.js";
import {
  CHECKERS,
  checkerFor,
  checkerRegistry,
} from "../../../../../tools/scripts/reconcile/checkers/index.js";

describe("checker registry", () => {
  it("finds the checker of every resource type the reconciler inspects", () => {
    for (const type of [
      "AWS::SQS::Queue",
      "AWS::DynamoDB::Table",
      "AWS::Lambda::EventSourceMapping",
      "AWS::Scheduler::Schedule",
      "AWS::StepFunctions::StateMachine",
      "AWS::Events::Rule",
      "AWS::SNS::Topic",
      "AWS::CloudWatch::Alarm",
    ]) {
      expect(checkerFor(type)?.type).toBe(type);
    }
    expect(CHECKERS).toHaveLength(8);
  });

  it("has no checker for a type nobody registered", () => {
    expect(checkerFor("AWS::IAM::Role")).toBeUndefined();
  });

  it("refuses two checkers for one type", () => {
    const checker: ResourceChecker = { type: "AWS::SQS::Queue", connect: () => () => [] };
    expect(() => checkerRegistry([checker, { ...checker }])).toThrow(
      "two reconcile checkers for AWS::SQS::Queue",
    );
  });
});

import { Annotations, Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { build, fn } from "../../../helpers/saga-workflow.js";

describe("SagaWorkflow", () => {
  const { definition, template } = build();

  it("is a Standard state machine with logging ALL, tracing and a timeout", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: Match.stringLikeRegexp("^/aws/vendedlogs/states/"),
      RetentionInDays: 30,
    });
    expect((definition as unknown as { TimeoutSeconds: number }).TimeoutSeconds).toBe(3600);
  });

  it("alarms on failed, timed-out and aborted executions with plain metrics", () => {
    for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/States",
        MetricName: metric,
        Dimensions: [{ Name: "StateMachineArn", Value: Match.anyValue() }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        Metrics: Match.absent(),
      });
    }
  });

  it("warns when no step can be undone", () => {
    const { stack } = build({ steps: (s) => [{ name: "a", function: fn(s, "A") }] });
    Annotations.fromStack(stack).hasWarning(
      "*",
      Match.stringLikeRegexp("a failure undoes nothing"),
    );
  });
});

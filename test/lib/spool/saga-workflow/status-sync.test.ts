import { Match } from "aws-cdk-lib/assertions";
import { describe, it } from "vitest";
import { build } from "../../../helpers/saga-workflow.js";

describe("SagaWorkflow status listener", () => {
  const { template } = build();

  it("keeps status events the listener fails on in a dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      DeadLetterConfig: { TargetArn: Match.anyValue() },
      Environment: { Variables: { JOBS_TABLE: Match.anyValue() } },
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
    });
  });

  it("listens for executions that end without recording their job", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });
});

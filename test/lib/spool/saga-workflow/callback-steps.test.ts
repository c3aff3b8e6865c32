import { Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { type SagaStep, SagaWorkflow } from "../../../../lib/spool/saga-workflow/index.js";
import { build, fn, path, state } from "../../../helpers/saga-workflow.js";
import { templateApp } from "../../../helpers/template-app.js";

/** reserve (undoable) → approval (callback) → finish. */
function withApproval(approval: Partial<SagaStep> = {}) {
  return (stack: Stack): SagaStep[] => [
    { name: "reserve", function: fn(stack, "Reserve"), compensation: fn(stack, "Release") },
    {
      name: "approval",
      function: fn(stack, "Ask"),
      callback: true,
      taskTimeout: Duration.minutes(10),
      ...approval,
    },
    { name: "finish", function: fn(stack, "Finish") },
  ];
}

describe("SagaWorkflow callback steps", () => {
  it("hands the task token to the function and waits for it, bounded by taskTimeout and heartbeat", () => {
    const { definition } = build({
      steps: withApproval({ heartbeat: Duration.minutes(2) }),
      stepTimeout: Duration.seconds(30),
    });
    const approval = state(definition, "approval");
    expect(approval.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(approval.TimeoutSeconds).toBe(600);
    expect(approval.HeartbeatSeconds).toBe(120);
    expect(approval.Parameters).toMatchObject({
      FunctionName: "TOKEN",
      Payload: { "taskToken.$": "$$.Task.Token", step: "approval", phase: "action" },
    });
    // The answer (SendTaskSuccess's output) is the step's result, checked like any other.
    expect(approval.ResultPath).toBe("$.results.approval");
    expect(approval.Next).toBe("Check approval");
    // Request-response steps keep the workflow's stepTimeout, no token, no heartbeat.
    const reserve = state(definition, "reserve");
    expect(reserve.TimeoutSeconds).toBe(30);
    expect(reserve.HeartbeatSeconds).toBeUndefined();
    expect(JSON.stringify(reserve.Parameters)).not.toContain("Task.Token");
  });

  it("never retries an answer: a rejection, a timeout or a missed heartbeat compensates at once", () => {
    const { definition } = build({ steps: withApproval() });
    const retry = state(definition, "approval").Retry ?? [];
    expect(retry[0]).toEqual({
      ErrorEquals: [
        "PermanentError",
        "Spool.Rejected",
        "States.HeartbeatTimeout",
        "States.Timeout",
      ],
      MaxAttempts: 0,
    });
    // Only a function that failed to take the token is retried (a new token is handed out).
    expect(retry[1]).toMatchObject({ ErrorEquals: ["States.TaskFailed"], JitterStrategy: "FULL" });
    expect(retry).toHaveLength(2);
    const [catcher] = state(definition, "approval").Catch ?? [];
    expect(catcher).toMatchObject({ ErrorEquals: ["States.ALL"], Next: "approval errored" });
    // Its failure compensates the earlier step (the approval itself has nothing to undo).
    expect(state(definition, "approval errored").Parameters).toMatchObject({
      compensateFrom: "reserve",
    });
    expect(path(definition, "approval errored")).toContain("Compensate from");
  });

  it("lets a grantee answer its tokens on this state machine only", () => {
    const stack = new Stack(templateApp(), "Grants");
    const saga = new SagaWorkflow(stack, "Saga", { steps: withApproval()(stack) });
    const approver = new Role(stack, "Approver", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    });
    saga.grantTaskResponse(approver);
    Template.fromStack(stack).hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^Approver") }],
      PolicyDocument: {
        Statement: [
          {
            Action: [
              "states:SendTaskSuccess",
              "states:SendTaskFailure",
              "states:SendTaskHeartbeat",
            ],
            Effect: "Allow",
            Resource: { Ref: Match.stringLikeRegexp("^SagaStateMachine") },
          },
        ],
      },
    });
  });

  it("warns when a callback step has no job table to park its token on", () => {
    const { stack } = build({ jobs: false, steps: withApproval() });
    Annotations.fromStack(stack).hasWarning(
      "/Test/Saga",
      Match.stringLikeRegexp("callback step but no jobTable"),
    );
  });
});

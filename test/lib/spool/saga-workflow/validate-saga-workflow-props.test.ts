import { Duration, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { SpoolValidationError } from "../../../../lib/spool/runtime/validation.js";
import { SagaWorkflow } from "../../../../lib/spool/saga-workflow/index.js";
import { thrownBy } from "../../../helpers/errors.js";
import { build, fn } from "../../../helpers/saga-workflow.js";
import { templateApp } from "../../../helpers/template-app.js";

describe("SagaWorkflow props validation", () => {
  it.each([
    [{ steps: () => [] }, "steps must hold at least one step, got none"],
    [
      { steps: (s: Stack) => [{ name: "a-b", function: fn(s, "A") }] },
      'steps[0].name must be 1–48 letters, digits or _ starting with a letter, got "a-b"',
    ],
    [
      {
        steps: (s: Stack) => [
          { name: "a", function: fn(s, "A") },
          { name: "a", function: fn(s, "B") },
        ],
      },
      'steps[1].name must be unique, got "a" twice',
    ],
    [
      { stepRetry: { interval: Duration.millis(500) } },
      "stepRetry.interval must be a whole number of seconds, at least 1, got 0.5 s",
    ],
    [
      { compensationRetry: { maxAttempts: 100 } },
      "compensationRetry.maxAttempts must be an integer from 0 to 99, got 100",
    ],
    [{ stepRetry: { backoffRate: 0.5 } }, "stepRetry.backoffRate must be at least 1, got 0.5"],
    [
      { stepRetry: { interval: Duration.seconds(10), maxDelay: Duration.seconds(5) } },
      "stepRetry.maxDelay must be at least the interval (10 s), got 5 s",
    ],
    [
      { timeout: Duration.minutes(1), stepTimeout: Duration.minutes(2) },
      "stepTimeout must not exceed timeout (60 s), got 120 s",
    ],
    [
      { steps: (s: Stack) => [{ name: "ask", function: fn(s, "A"), callback: true }] },
      'steps[0].taskTimeout is required with callback (how long "ask" waits for its answer before it compensates), got none',
    ],
    [
      {
        steps: (s: Stack) => [
          {
            name: "ask",
            function: fn(s, "A"),
            callback: true,
            taskTimeout: Duration.minutes(5),
            heartbeat: Duration.minutes(5),
          },
        ],
      },
      "steps[0].heartbeat must be shorter than steps[0].taskTimeout (300 s), got 300 s",
    ],
    [
      {
        steps: (s: Stack) => [
          { name: "work", function: fn(s, "A"), heartbeat: Duration.seconds(30) },
        ],
      },
      'steps[0].heartbeat needs callback: true (a request-response function holds no task token to send heartbeats with; bound it with taskTimeout), got 30 seconds on "work"',
    ],
    [
      {
        timeout: Duration.minutes(10),
        steps: (s: Stack) => [
          { name: "ask", function: fn(s, "A"), callback: true, taskTimeout: Duration.hours(1) },
        ],
      },
      "steps[0].taskTimeout must not exceed timeout (600 s), got 3600 s",
    ],
    [
      {
        steps: (s: Stack) => [
          { name: "ask", function: fn(s, "A"), callback: true, taskTimeout: Duration.millis(1500) },
        ],
      },
      "steps[0].taskTimeout must be a whole number of seconds, at least 1, got 1.5 s",
    ],
  ] as const)("fails synthesis on bad props: %j", (props, message) => {
    expect(() => build(props as never)).toThrow(message);
  });

  it("names the workflow whose props it refuses: of two sagas, the second", () => {
    const stack = new Stack(templateApp(), "Stack");
    new SagaWorkflow(stack, "Orders", { steps: [{ name: "a", function: fn(stack, "A") }] });
    const error = thrownBy(
      () =>
        new SagaWorkflow(stack, "Refunds", {
          steps: [{ name: "b", function: fn(stack, "B") }],
          stepRetry: { maxAttempts: 100 },
        }),
    );
    expect(error).toBeInstanceOf(SpoolValidationError);
    expect(error).toMatchObject({
      constructPath: "Stack/Refunds",
      message: "Stack/Refunds: stepRetry.maxAttempts must be an integer from 0 to 99, got 100",
    });
  });

  it.each(["s".repeat(81), "orders workflow", ""])(
    "refuses a stateMachineName Step Functions would refuse, naming the workflow: %j",
    (stateMachineName) => {
      const stack = new Stack(templateApp(), "Stack");
      const error = thrownBy(
        () =>
          new SagaWorkflow(stack, "Refunds", {
            steps: [{ name: "b", function: fn(stack, "B") }],
            stateMachineName,
          }),
      );
      expect(error).toBeInstanceOf(SpoolValidationError);
      expect(error).toMatchObject({
        constructPath: "Stack/Refunds",
        message: `Stack/Refunds: stateMachineName must be 1–80 letters, digits or + ! @ . ( ) - = _ ', got "${stateMachineName}"`,
      });
    },
  );
});

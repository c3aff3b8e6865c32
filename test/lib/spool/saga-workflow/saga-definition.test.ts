import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { build, fn, path, state } from "../../../helpers/saga-workflow.js";

describe("SagaWorkflow definition: steps, outcomes and compensations", () => {
  const { definition } = build();

  it("retries every step's thrown errors with bounded, capped, fully jittered backoff, never a PermanentError", () => {
    for (const name of ["reserve", "charge", "confirm", "notify"]) {
      const task = state(definition, name);
      expect(task.Retry).toEqual([
        { ErrorEquals: ["PermanentError"], MaxAttempts: 0 },
        {
          ErrorEquals: ["States.TaskFailed", "States.Timeout"],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxAttempts: 3,
          MaxDelaySeconds: 30,
          JitterStrategy: "FULL",
        },
      ]);
      expect(task.Catch).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.caught", Next: `${name} errored` },
      ]);
      // The payload carries the retry count (fault injection fails attempts deterministically).
      expect(task.Parameters).toMatchObject({
        step: name,
        phase: "action",
        "retryCount.$": "$$.State.RetryCount",
        "execution.$": "$$.Execution.Id",
      });
      expect(task.ResultPath).toBe(`$.results.${name}`);
    }
  });

  it("routes business outcomes with a Choice instead of retrying them", () => {
    const check = state(definition, "Check charge");
    const targets = (check.Choices ?? []).map((c) => c.Next);
    expect(targets).toEqual([
      "charge returned no outcome",
      "confirm",
      "charge rejected",
      "charge failed",
    ]);
    expect(check.Default).toBe("charge returned no outcome");
    expect(JSON.stringify(check.Choices?.[2])).toContain('"StringEquals":"rejected"');
  });

  it("compensates only earlier steps after a rejection, the step itself too after a failure", () => {
    const from = (s: string) =>
      (state(definition, s).Parameters as { compensateFrom: string }).compensateFrom;
    expect(from("reserve rejected")).toBe("none");
    expect(from("reserve failed")).toBe("reserve");
    expect(from("charge rejected")).toBe("reserve");
    expect(from("charge failed")).toBe("charge");
    expect(from("charge errored")).toBe("charge");
    expect(from("charge returned no outcome")).toBe("charge");
    // confirm and notify have nothing to undo: compensation starts at the last step that has.
    expect(from("confirm failed")).toBe("charge");
    expect(from("notify errored")).toBe("charge");
    expect(state(definition, "charge failed").Parameters).toMatchObject({
      step: "charge",
      kind: "failed",
      "error.$": "States.Format('{}', $.results.charge.code)",
    });
  });

  it("runs compensations newest first, each once, then ends COMPENSATED", () => {
    const dispatch = state(definition, "Compensate from");
    expect((dispatch.Choices ?? []).map((c) => [c.StringEquals, c.Next])).toEqual([
      ["reserve", "Undo reserve"],
      ["charge", "Undo charge"],
    ]);
    expect(path(definition, "Undo charge")).toEqual([
      "Undo charge",
      "Undo reserve",
      "Record COMPENSATED",
      "Compensated",
    ]);
    expect(state(definition, "Compensated")).toMatchObject({
      Type: "Fail",
      Error: "COMPENSATED",
      CausePath: "States.JsonToString($.failure)",
    });
    const undo = state(definition, "Undo charge");
    expect(undo.Parameters).toMatchObject({ phase: "compensation", "failure.$": "$.failure" });
    expect(undo.Retry?.[1]).toMatchObject({
      MaxAttempts: 8,
      MaxDelaySeconds: 120,
      JitterStrategy: "FULL",
    });
    expect(path(definition, undo.Catch?.[0]?.Next ?? "")).toEqual([
      "Undo charge failed",
      "Record FAILED",
      "Compensation failed",
    ]);
    expect(state(definition, "Compensation failed").Error).toBe("COMPENSATION_FAILED");
  });

  it("refuses input without its fields before doing anything", () => {
    expect(definition.StartAt).toBe("Validate input");
    expect(state(definition, "Validate input").Default).toBe("Invalid input");
    expect(state(definition, "Invalid input").Error).toBe("INVALID_INPUT");
  });
});

describe("SagaWorkflow definition: options", () => {
  it("without a job table records nothing and needs no jobId", () => {
    const { definition, template } = build({ jobs: false });
    expect(Object.keys(definition.States).some((n) => n.startsWith("Record "))).toBe(false);
    expect(state(definition, "reserve").Parameters).not.toHaveProperty("jobId.$");
    expect(path(definition, "Undo charge").at(-1)).toBe("Compensated");
    template.resourceCountIs("AWS::Events::Rule", 0);
  });

  it("passes fault directives to the steps only with faultInjection", () => {
    expect(state(build().definition, "reserve").Parameters).not.toHaveProperty("faults.$");
    const { definition } = build({ faultInjection: true });
    expect(state(definition, "reserve").Parameters).toMatchObject({ "faults.$": "$.faults" });
    expect(state(definition, "Prepare").Parameters).toMatchObject({ faults: {} });
  });

  it("takes retry policies, a step timeout and a per-step override", () => {
    const { definition } = build({
      steps: (stack) => [
        {
          name: "only",
          function: fn(stack, "Only"),
          compensation: fn(stack, "Undo"),
          retry: { maxAttempts: 5 },
        },
      ],
      stepRetry: { interval: Duration.seconds(1), maxDelay: Duration.seconds(4) },
      compensationRetry: { maxAttempts: 2 },
      stepTimeout: Duration.seconds(20),
    });
    expect(state(definition, "only").Retry?.[1]).toMatchObject({
      IntervalSeconds: 1,
      MaxAttempts: 5,
      MaxDelaySeconds: 4,
    });
    expect(state(definition, "only").TimeoutSeconds).toBe(20);
    expect(state(definition, "Undo only").Retry?.[1]).toMatchObject({ MaxAttempts: 2 });
  });
});

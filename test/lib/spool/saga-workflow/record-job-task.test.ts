import { describe, expect, it } from "vitest";
import { transitionCondition } from "../../../../lib/spool/job-table/job-states.js";
import { build, path, state } from "../../../helpers/saga-workflow.js";

describe("SagaWorkflow job recording", () => {
  const { definition } = build();

  it("records the job with conditions taken from the shared transition table", () => {
    for (const [name, status] of [
      ["Record RUNNING", "RUNNING"],
      ["Record SUCCEEDED", "SUCCEEDED"],
      ["Record COMPENSATING", "COMPENSATING"],
      ["Record COMPENSATED", "COMPENSATED"],
      ["Record FAILED", "FAILED"],
    ] as const) {
      const task = state(definition, name);
      const parameters = task.Parameters as Record<string, unknown>;
      expect(parameters.ConditionExpression).toBe(transitionCondition(status).expression);
      expect(parameters.Key).toEqual({ jobId: { "S.$": "$.jobId" } });
      expect(task.Resource).toMatch(/:states:::dynamodb:updateItem$/);
    }
    expect(path(definition, "Record RUNNING")[1]).toBe("reserve");
    expect(state(definition, "Record RUNNING").Catch).toEqual([
      {
        ErrorEquals: ["DynamoDB.ConditionalCheckFailedException"],
        ResultPath: "$.jobConflict",
        Next: "Job not runnable",
      },
    ]);
    // Effects are undone whatever the job table answers.
    expect(state(definition, "Record COMPENSATING").Catch?.[0]).toMatchObject({
      ErrorEquals: ["States.ALL"],
      Next: "Compensate from",
    });
    const lastOk = (state(definition, "Check notify").Choices ?? [])[1];
    expect(lastOk).toMatchObject({ StringEquals: "ok", Next: "Record SUCCEEDED" });
    expect(path(definition, "Record SUCCEEDED")).toEqual(["Record SUCCEEDED", "Succeeded"]);
    expect(state(definition, "Record SUCCEEDED").Catch?.[0]?.Next).toBe("Job state conflict");
  });
});

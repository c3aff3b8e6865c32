import { describe, expect, it } from "vitest";
import { NO_TASK, TASK_TABLE } from "../../../../../lib/spool/delayed-tasks/runtime/task-states.js";

describe("TASK_TABLE", () => {
  it("creates a task only where none exists", () => {
    expect(TASK_TABLE.condition("schedule")).toEqual({
      expression: "attribute_not_exists(#key)",
      names: { "#key": "key" },
      values: {},
    });
  });

  it("cancels only a scheduled task, and writes CANCELLED", () => {
    const cancel = TASK_TABLE.update("cancel");
    expect(cancel.conditionExpression).toBe("#status IN (:scheduled)");
    expect(cancel.setStatus).toBe("#status = :cancelled");
    expect(cancel.values).toEqual({ ":scheduled": "SCHEDULED", ":cancelled": "CANCELLED" });
  });

  it("lets a redelivery take the claim again, but never a cancelled or delivered task", () => {
    expect(TASK_TABLE.sources("claim")).toEqual(["SCHEDULED", "DELIVERING"]);
    for (const from of ["CANCELLED", "DELIVERED", NO_TASK] as const) {
      expect(TASK_TABLE.allows("claim", from)).toBe(false);
    }
    expect(TASK_TABLE.update("claim").conditionExpression).toBe(
      "#status IN (:scheduled, :delivering)",
    );
  });

  it("completes only a claimed task", () => {
    expect(TASK_TABLE.update("complete")).toMatchObject({
      conditionExpression: "#status IN (:delivering)",
      setStatus: "#status = :delivered",
    });
    expect(TASK_TABLE.allows("complete", "SCHEDULED")).toBe(false);
  });
});

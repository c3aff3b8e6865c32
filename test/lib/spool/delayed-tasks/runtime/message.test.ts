import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  refuseTask,
  TaskMessage,
  taskMessage,
  taskMessageOf,
} from "../../../../../lib/spool/delayed-tasks/runtime/message.js";
import { PermanentError } from "../../../../../lib/spool/runtime/errors.js";

const task = { key: "reminder-1", dueAt: "2026-03-01T10:15:00.000Z", correlationId: "corr-1" };

describe("task message", () => {
  it("builds the message every route sends, which the schema accepts", () => {
    const message = taskMessage(task, "scheduler", { orderId: "o-1" });
    expect(TaskMessage.parse(message)).toEqual({
      kind: "spool.task",
      schemaVersion: 1,
      taskKey: "reminder-1",
      dueAt: "2026-03-01T10:15:00.000Z",
      correlationId: "corr-1",
      route: "scheduler",
      payload: { orderId: "o-1" },
    });
  });

  it("checks the payload with the consumer's schema", () => {
    const schema = taskMessageOf(z.object({ orderId: z.string() }));
    expect(schema.safeParse(taskMessage(task, "queue-delay", { orderId: "o-1" })).success).toBe(
      true,
    );
    expect(schema.safeParse(taskMessage(task, "queue-delay", { orderId: 7 })).success).toBe(false);
    expect(schema.safeParse({ ...taskMessage(task, "immediate", {}), kind: "other" }).success).toBe(
      false,
    );
  });

  it("refuses with a permanent error carrying the rule's code and details", () => {
    expect(() => refuseTask("TASK_KEY_INVALID", "bad key", { key: "" })).toThrow(PermanentError);
    expect(() => refuseTask("TASK_KEY_INVALID", "bad key", { key: "" })).toThrow(
      expect.objectContaining({ code: "TASK_KEY_INVALID", details: { key: "" } }),
    );
  });
});

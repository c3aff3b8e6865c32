import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { deliverTask } from "../../../../../lib/spool/delayed-tasks/runtime/deliver.js";
import { TransientError } from "../../../../../lib/spool/runtime/errors.js";
import {
  conditionFailed,
  db,
  deliveryDeps,
  NOW,
  resetTaskFakes,
} from "../../../../helpers/delayed-tasks.js";

beforeEach(resetTaskFakes);

describe("deliverTask", () => {
  it("claims the task, runs the effect once, marks it delivered", async () => {
    db.on(UpdateCommand).resolves({});
    const effect = vi.fn(async () => "sent");
    expect(await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).toEqual({
      status: "delivered",
      result: "sent",
    });
    expect(effect).toHaveBeenCalledOnce();
    const [claim, done] = db.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(claim?.ConditionExpression).toBe("#status IN (:scheduled, :delivering)");
    expect(done?.ExpressionAttributeValues?.[":delivered"]).toBe("DELIVERED");
  });

  it("drops a cancelled task without its effect, and counts the drop", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ key: "k", status: "CANCELLED", cancelledAt: "t" }))
      .resolves({});
    const effect = vi.fn();
    expect(await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).toEqual({
      status: "dropped-cancelled",
      cancelledAt: "t",
    });
    expect(effect).not.toHaveBeenCalled();
    expect(db.commandCalls(UpdateCommand)[1]?.args[0].input.UpdateExpression).toMatch(
      /ADD droppedDeliveries :one/,
    );
  });

  it("does nothing for a task already delivered", async () => {
    db.on(UpdateCommand)
      .rejectsOnce(conditionFailed({ key: "k", status: "DELIVERED" }))
      .resolves({});
    const effect = vi.fn();
    expect((await deliverTask({ taskKey: "k" }, deliveryDeps(), effect)).status).toBe("duplicate");
    expect(effect).not.toHaveBeenCalled();
  });

  it("refuses a task with no record as permanent", async () => {
    db.on(UpdateCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({});
    await expect(deliverTask({ taskKey: "k" }, deliveryDeps(), vi.fn())).rejects.toMatchObject({
      code: "TASK_UNKNOWN",
    });
  });

  it("refuses a task that arrives before its due time, before claiming it or running the effect", async () => {
    const effect = vi.fn();
    const early = { taskKey: "k", dueAt: new Date(NOW.getTime() + 41_200).toISOString() };
    const attempt = deliverTask(early, deliveryDeps(), effect);
    await expect(attempt).rejects.toBeInstanceOf(TransientError);
    await expect(attempt).rejects.toMatchObject({
      code: "TASK_NOT_DUE",
      details: { retryAfterSeconds: 42 },
    });
    expect(effect).not.toHaveBeenCalled();
    expect(db.calls()).toHaveLength(0);
  });

  it("runs a task that arrives at its due time", async () => {
    db.on(UpdateCommand).resolves({});
    const effect = vi.fn(async () => "sent");
    const due = { taskKey: "k", dueAt: NOW.toISOString() };
    expect((await deliverTask(due, deliveryDeps(), effect)).status).toBe("delivered");
    expect(effect).toHaveBeenCalledOnce();
  });
});

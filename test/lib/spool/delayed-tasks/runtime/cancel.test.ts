import { DeleteScheduleCommand, ResourceNotFoundException } from "@aws-sdk/client-scheduler";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it } from "vitest";
import { cancelTask } from "../../../../../lib/spool/delayed-tasks/runtime/cancel.js";
import {
  conditionFailed,
  db,
  resetTaskFakes,
  scheduler,
  taskDeps,
} from "../../../../helpers/delayed-tasks.js";

beforeEach(resetTaskFakes);

describe("cancelTask", () => {
  it("marks the task cancelled, then deletes its schedule", async () => {
    db.on(UpdateCommand).resolves({
      Attributes: { key: "k", status: "CANCELLED", route: "scheduler", scheduleName: "k" },
    });
    scheduler.on(DeleteScheduleCommand).resolves({});
    expect((await cancelTask("k", taskDeps())).outcome).toBe("cancelled");
    expect(db.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "#status IN (:scheduled)",
    );
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input).toEqual({
      Name: "k",
      GroupName: "spool-tasks",
    });
  });

  it("treats a schedule that already fired (gone) as deleted", async () => {
    db.on(UpdateCommand).resolves({
      Attributes: { key: "k", route: "scheduler", scheduleName: "k" },
    });
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: "gone", Message: "gone", $metadata: {} }));
    expect((await cancelTask("k", taskDeps())).outcome).toBe("cancelled");
  });

  it("reports unknown, already cancelled and already delivered tasks", async () => {
    db.on(UpdateCommand).rejects(conditionFailed());
    db.on(GetCommand).resolves({});
    expect((await cancelTask("k", taskDeps())).outcome).toBe("not-found");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "CANCELLED", route: "queue-delay" }),
    );
    expect((await cancelTask("k", taskDeps())).outcome).toBe("already-cancelled");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "DELIVERED", route: "queue-delay" }),
    );
    expect((await cancelTask("k", taskDeps())).outcome).toBe("already-delivered");
    db.on(UpdateCommand).rejects(
      conditionFailed({ key: "k", status: "DELIVERING", route: "queue-delay" }),
    );
    expect((await cancelTask("k", taskDeps())).outcome).toBe("delivering");
  });
});

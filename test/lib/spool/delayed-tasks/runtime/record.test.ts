import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it } from "vitest";
import { getTask } from "../../../../../lib/spool/delayed-tasks/runtime/record.js";
import { db, resetTaskFakes, taskDeps } from "../../../../helpers/delayed-tasks.js";

beforeEach(resetTaskFakes);

describe("getTask", () => {
  it("reads the record consistently and leaves out the payload, TTL and FIFO group", async () => {
    db.on(GetCommand).resolves({
      Item: {
        key: "k",
        status: "SCHEDULED",
        payload: { secret: 1 },
        expiresAt: 1,
        messageGroupId: "g",
      },
    });
    expect(await getTask("k", taskDeps())).toEqual({ key: "k", status: "SCHEDULED" });
    expect(db.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: "tasks",
      Key: { key: "k" },
      ConsistentRead: true,
    });
  });

  it("is undefined for an unknown key", async () => {
    db.on(GetCommand).resolves({});
    expect(await getTask("k", taskDeps())).toBeUndefined();
  });
});

import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  failingValue,
  heldGroupKey,
  heldSwitchKey,
} from "../../../lambdas/held-groups/contract.js";
import { applyInSequence } from "../../../lambdas/held-groups/held.js";
import { classify } from "../../../lib/spool/runtime/errors.js";

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const deps = { db, table: "effects" };
const message = (seq: number) => ({ schemaVersion: 1, runId: "run-1", group: "g", seq }) as const;

describe("applyInSequence", () => {
  beforeEach(() => {
    dbMock.reset();
    dbMock.on(GetCommand).resolves({});
    dbMock.on(UpdateCommand).resolves({});
  });

  it("appends seq 1 to an empty group, and a later seq only after the one before it", async () => {
    await applyInSequence(message(1), deps);
    await applyInSequence(message(4), deps);
    const [first, later] = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      Key: heldGroupKey("run-1", "g"),
      ConditionExpression: "attribute_not_exists(lastSeq)",
      ExpressionAttributeValues: { ":seq": 1, ":this": [1] },
    });
    expect(later).toMatchObject({
      ConditionExpression: "lastSeq = :previous",
      ExpressionAttributeValues: { ":seq": 4, ":previous": 3, ":this": [4] },
    });
  });

  it("refuses a message out of order for good (OUT_OF_ORDER)", async () => {
    dbMock
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "no", $metadata: {} }));
    const error = await applyInSequence(message(3), deps).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: "permanent", code: "OUT_OF_ORDER" });
  });

  it("fails the message the run's switch names, permanently and without an effect", async () => {
    dbMock
      .on(GetCommand, { Key: heldSwitchKey("run-1") })
      .resolves({ Item: { failing: failingValue("g", 2) } });
    const error = await applyInSequence(message(2), deps).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: "permanent", code: "INJECTED_PERMANENT" });
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
    await applyInSequence(message(3), deps);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});

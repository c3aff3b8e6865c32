import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { doLongWork, LongWorkMessage } from "../../../lambdas/long-work/long-work.js";

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));

describe("doLongWork", () => {
  beforeEach(() => {
    dbMock.reset();
    dbMock.on(UpdateCommand).resolves({});
  });

  it("counts its execution before working and its finish after, with the delivery number", async () => {
    const order: string[] = [];
    dbMock.on(UpdateCommand).callsFake(async (input) => {
      order.push(`count ${input.ExpressionAttributeNames["#field"]}`);
      return {};
    });
    const sleep = vi.fn(async (ms: number) => {
      order.push(`work ${ms} ms`);
    });
    await doLongWork({ schemaVersion: 1, id: "w-1", workSeconds: 40 }, 2, {
      db,
      table: "effects",
      sleep,
    });
    expect(order).toEqual(["count executions", "work 40000 ms", "count finished"]);
    const first = dbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(first).toMatchObject({
      TableName: "effects",
      Key: { pk: "long-work#w-1", sk: "effect" },
      ExpressionAttributeValues: { ":one": 1, ":attempt": new Set([2]) },
    });
  });

  it("refuses work longer than its consumer's timeout allows", () => {
    expect(LongWorkMessage.safeParse({ schemaVersion: 1, id: "w", workSeconds: 51 }).success).toBe(
      false,
    );
  });
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  RateLimitedMessage,
  rateLimitedKey,
  recordStart,
} from "../../../lambdas/rate-limited/rate-limited.js";

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));

describe("recordStart", () => {
  beforeEach(() => {
    dbMock.reset();
    dbMock.on(UpdateCommand).resolves({});
  });

  it("keeps the first start time, counts every execution and the delivery it ran on", async () => {
    const now = new Date("2026-01-01T00:00:00.250Z");
    await recordStart({ schemaVersion: 1, runId: "run-1", id: "m-7" }, 1, {
      db,
      table: "effects",
      now: () => now,
    });
    expect(dbMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      TableName: "effects",
      Key: { pk: "rate-limited#run-1", sk: "m-7" },
      UpdateExpression:
        "SET startedAt = if_not_exists(startedAt, :now) ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: { ":now": now.getTime(), ":one": 1, ":attempt": new Set([1]) },
    });
    expect(rateLimitedKey("run-1", "m-7")).toEqual({ pk: "rate-limited#run-1", sk: "m-7" });
  });

  it("refuses a message without its run", () => {
    expect(RateLimitedMessage.safeParse({ schemaVersion: 1, id: "m" }).success).toBe(false);
  });
});

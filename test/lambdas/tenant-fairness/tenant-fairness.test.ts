import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  doTenantWork,
  TenantWorkMessage,
  tenantWorkKey,
} from "../../../lambdas/tenant-fairness/tenant-fairness.js";

const dbMock = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const message = { schemaVersion: 1, runId: "run-1", tenantId: "a", id: "m-7", workMs: 40 } as const;

describe("doTenantWork", () => {
  beforeEach(() => {
    dbMock.reset();
    dbMock.on(UpdateCommand).resolves({});
  });

  it("works for workMs, then keeps the first effect time and counts every execution", async () => {
    const now = new Date("2026-01-01T00:00:00.250Z");
    const slept: number[] = [];
    await doTenantWork(message, 2, {
      db,
      table: "effects",
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0); // the effect comes after
      },
    });
    expect(slept).toEqual([40]);
    expect(dbMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      TableName: "effects",
      Key: { pk: "tenant-fair#run-1#a", sk: "m-7" },
      UpdateExpression:
        "SET doneAt = if_not_exists(doneAt, :now) ADD executions :one, attempts :attempt",
      ExpressionAttributeValues: { ":now": now.getTime(), ":one": 1, ":attempt": new Set([2]) },
    });
    expect(tenantWorkKey("run-1", "a", "m-7")).toEqual({ pk: "tenant-fair#run-1#a", sk: "m-7" });
  });

  it("refuses work longer than the consumer allows, and a message without its tenant", () => {
    expect(TenantWorkMessage.safeParse({ ...message, workMs: 5_001 }).success).toBe(false);
    expect(TenantWorkMessage.safeParse({ ...message, tenantId: undefined }).success).toBe(false);
  });
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { listRuns } from "../../../../../lib/spool/recurring-job/runtime/run-history.js";

const db = mockClient(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })));
const client = db as unknown as DynamoDBDocumentClient;

beforeEach(() => {
  db.reset();
  vi.stubEnv("AWS_ENDPOINT_URL", "");
});

const item = (time: string, status: string) => ({
  pk: "job#nightly",
  sk: `run#${time}`,
  scheduledTime: time,
  status,
  leaseUntil: 1,
  expiresAt: 2,
});

describe("listRuns", () => {
  it("returns a job's runs newest first in [from, to), without the table's bookkeeping", async () => {
    const to = new Date("2026-03-03T00:00:00Z");
    db.on(QueryCommand).resolves({
      Items: [item(to.toISOString(), "QUEUED"), item("2026-03-02T01:00:00.000Z", "SUCCEEDED")],
    });
    const runs = await listRuns(client, "runs", "nightly", {
      from: new Date("2026-03-01T00:00:00Z"),
      to,
    });
    expect(runs).toEqual([{ scheduledTime: "2026-03-02T01:00:00.000Z", status: "SUCCEEDED" }]);
    expect(db.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": "job#nightly",
        ":from": "run#2026-03-01T00:00:00.000Z",
        ":to": "run#2026-03-03T00:00:00.000Z",
      },
      ScanIndexForward: false,
      ConsistentRead: true,
    });
  });

  it("pages until it has the runs asked for", async () => {
    db.on(QueryCommand)
      .resolvesOnce({
        Items: [item("2026-03-02T01:00:00.000Z", "FAILED")],
        LastEvaluatedKey: { pk: "a" },
      })
      .resolvesOnce({
        Items: [item("2026-03-01T01:00:00.000Z", "SUCCEEDED")],
        LastEvaluatedKey: { pk: "b" },
      })
      .resolves({ Items: [item("2026-02-28T01:00:00.000Z", "SUCCEEDED")] });
    const runs = await listRuns(client, "runs", "nightly", { limit: 2 });
    expect(runs.map((r) => r.status)).toEqual(["FAILED", "SUCCEEDED"]);
    const calls = db.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ ExclusiveStartKey: { pk: "a" }, Limit: 1 });
  });
});

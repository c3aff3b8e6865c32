import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { notificationDone } from "../../../lambdas/notifications/notification-done.js";

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const docs = mockClient(db);

describe("notificationDone", () => {
  beforeEach(() => docs.reset());

  it("is true only when the delivery record exists, read consistently", async () => {
    docs.on(GetCommand).resolves({ Item: { pk: "notification#n-1" } });
    expect(await notificationDone({ notificationId: "n-1" }, { db, table: "Effects" })).toBe(true);
    expect(docs.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: "Effects",
      Key: { pk: "notification#n-1", sk: "delivery" },
      ConsistentRead: true,
    });
    docs.on(GetCommand).resolves({});
    expect(await notificationDone({ notificationId: "n-2" }, { db, table: "Effects" })).toBe(false);
  });
});

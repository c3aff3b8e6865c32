import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  absenceOf,
  countDuplicate,
  markerPut,
  putOnce,
  putUnlessPresent,
} from "../../../../lib/spool/runtime/effect-once.js";

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const docs = mockClient(db);
const key = { pk: "payment#o-1", sk: "authorization" };
const args = { table: "Effects", key, item: { amountCents: 700 }, duplicateCounter: "duplicates" };

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

describe("putOnce", () => {
  beforeEach(() => docs.reset());

  it("writes the record with its key, conditional on the key's absence, and says it did", async () => {
    docs.on(PutCommand).resolves({});
    expect(await putOnce(db, args)).toBe(true);
    expect(docs.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: "Effects",
      Item: { pk: "payment#o-1", sk: "authorization", amountCents: 700 },
      ConditionExpression: "attribute_not_exists(pk)",
    });
    expect(docs.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("on a duplicate, writes nothing new and counts it on the existing record", async () => {
    docs.on(PutCommand).rejects(conditionFailed());
    docs.on(UpdateCommand).resolves({});
    expect(await putOnce(db, args)).toBe(false);
    expect(docs.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: "Effects",
      Key: key,
      UpdateExpression: "ADD duplicates :one",
      ExpressionAttributeValues: { ":one": 1 },
    });
  });

  it("lets any other error through (the delivery is retried and meets the same condition)", async () => {
    docs.on(PutCommand).rejects(new Error("ProvisionedThroughputExceededException"));
    await expect(putOnce(db, args)).rejects.toThrow(/ProvisionedThroughput/);
    expect(docs.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("never lets the item overwrite its key", async () => {
    docs.on(PutCommand).resolves({});
    await putOnce(db, { ...args, item: { pk: "other", amountCents: 1 } });
    expect(docs.commandCalls(PutCommand)[0]?.args[0].input.Item?.pk).toBe("payment#o-1");
  });
});

describe("absenceOf and countDuplicate", () => {
  beforeEach(() => docs.reset());

  it("aliases reserved or unusual attribute names", () => {
    expect(absenceOf({ key: "k" })).toEqual({
      ConditionExpression: "attribute_not_exists(#partition)",
      ExpressionAttributeNames: { "#partition": "key" },
    });
    expect(absenceOf({ "task-key": "k" }).ExpressionAttributeNames).toEqual({
      "#partition": "task-key",
    });
    expect(() => absenceOf({})).toThrow(/no attributes/);
  });

  it("aliases a counter DynamoDB would read as a reserved word", async () => {
    docs.on(UpdateCommand).resolves({});
    await countDuplicate(db, "Effects", key, "count");
    expect(docs.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: "ADD #counter :one",
      ExpressionAttributeNames: { "#counter": "count" },
    });
  });
});

describe("markerPut", () => {
  it("is the transaction's Put of the record, key first, conditional on the key's absence", () => {
    const put = markerPut("Effects", key, { status: "CHARGED", amountCents: 700 });
    expect(put).toEqual({
      Put: {
        TableName: "Effects",
        Item: { pk: "payment#o-1", sk: "authorization", status: "CHARGED", amountCents: 700 },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    });
    // The order the handlers wrote by hand (key, then the rest) is kept.
    expect(Object.keys(put.Put?.Item ?? {})).toEqual(["pk", "sk", "status", "amountCents"]);
    expect(put.Put).not.toHaveProperty("ExpressionAttributeNames");
  });

  it("never lets the item overwrite its key, and aliases a reserved partition name", () => {
    const put = markerPut("Effects", { key: "k" }, { key: "other", at: 1 });
    expect(put.Put?.Item).toEqual({ key: "k", at: 1 });
    expect(put.Put?.ConditionExpression).toBe("attribute_not_exists(#partition)");
    expect(put.Put?.ExpressionAttributeNames).toEqual({ "#partition": "key" });
  });
});

describe("putUnlessPresent", () => {
  beforeEach(() => docs.reset());
  const tombstone = { status: "VOID", voidedAt: "2026-01-01T00:00:00.000Z" };

  it("writes the record when none is there and resolves undefined, reading nothing", async () => {
    docs.on(PutCommand).resolves({});
    expect(await putUnlessPresent(db, "Effects", key, tombstone)).toBeUndefined();
    expect(docs.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: "Effects",
      Item: { ...key, ...tombstone },
      ConditionExpression: "attribute_not_exists(pk)",
    });
    expect(docs.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("resolves the record that is there, read consistently, when the condition fails", async () => {
    docs.on(PutCommand).rejects(conditionFailed());
    docs.on(GetCommand).resolves({ Item: { ...key, status: "CHARGED" } });
    expect(await putUnlessPresent(db, "Effects", key, tombstone)).toEqual({
      ...key,
      status: "CHARGED",
    });
    expect(docs.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: "Effects",
      Key: key,
      ConsistentRead: true,
    });
  });

  it("lets any other error through without reading", async () => {
    docs.on(PutCommand).rejects(new Error("ProvisionedThroughputExceededException"));
    await expect(putUnlessPresent(db, "Effects", key, tombstone)).rejects.toThrow(
      /ProvisionedThroughput/,
    );
    expect(docs.commandCalls(GetCommand)).toHaveLength(0);
  });
});

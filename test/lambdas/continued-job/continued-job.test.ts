import { Logger } from "@aws-lambda-powertools/logger";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ContinuedJobMessage,
  continuedJobKey,
  runContinuedJobChunk,
} from "../../../lambdas/continued-job/continued-job.js";
import type { RecordContext } from "../../../lib/spool/runtime/consumer-types.js";

const ddb = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const QUEUE = "https://sqs.us-east-1.amazonaws.com/000000000000/continued";
const deps = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })),
  sqs: new SQSClient({ region: "us-east-1" }),
  table: "effects",
  now: () => new Date("2026-01-01T00:00:00.000Z"),
  sleep: async () => undefined,
};
const ctx: RecordContext = {
  messageId: "m-1",
  correlationId: "corr-1",
  attempt: 1,
  messageGroupId: undefined,
  sentAt: new Date(0),
  logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
  reportProgress: async () => undefined,
  cancelled: async () => false,
  remainingMillis: () => 9_000,
  queueUrl: QUEUE,
};
const message = ContinuedJobMessage.parse({ schemaVersion: 1, jobKey: "j-1", items: 12 });
const written = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.sk);

beforeEach(() => {
  ddb.reset();
  sqsMock.reset();
  ddb.on(PutCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "next" });
});

describe("the continued job step", () => {
  it("does four items from cursor 0, each a conditional put, then continues from 4", async () => {
    expect(message).toMatchObject({ cursor: 0, itemMillis: 1_500 });
    const outcome = await runContinuedJobChunk(message, ctx, deps);
    expect(outcome).toMatchObject({ status: "continued", from: 0, next: 4 });
    expect(written()).toEqual(["item#00", "item#01", "item#02", "item#03"]);
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(put?.Item).toMatchObject({ ...continuedJobKey("j-1", 0), cursor: 0, messageId: "m-1" });
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(QUEUE);
    expect(JSON.parse(sent?.MessageBody ?? "{}")).toEqual({ ...message, cursor: 4 });
  });

  it("completes on the last chunk, and a redone item only counts the duplicate", async () => {
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    ddb.on(UpdateCommand).resolves({});
    const outcome = await runContinuedJobChunk({ ...message, cursor: 8 }, ctx, deps);
    expect(outcome).toEqual({ status: "completed", from: 8, done: 12 });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(4);
    expect(sqsMock.commandCalls(SendMessageCommand)).toEqual([]);
  });

  it("fails without a source queue instead of losing the rest of the job", async () => {
    await expect(
      runContinuedJobChunk(message, { ...ctx, queueUrl: undefined }, deps),
    ).rejects.toThrow("no source queue");
    expect(written()).toEqual([]);
  });
});

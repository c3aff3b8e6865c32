import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ConsumerDefinition } from "../../../../lib/spool/runtime/sqs-consumer.js";
import { lambdaContext, sqsEvent } from "../../../helpers/sqs.js";
import {
  body,
  DLQ_URL,
  failedIds,
  type Message,
  metadataOf,
  record,
  sqsMock,
  storeConsumer,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

const dynamo = new DynamoDBClient({ region: "us-east-1" });
const ddbMock = mockClient(dynamo);
const GIVE_UP = { UpdateExpression: "SET givenUpBy = :holder" };

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(UpdateItemCommand).resolves({});
  ddbMock.on(DeleteItemCommand).resolves({});
  // The record as the deadline finds it: in progress (the step has not completed it).
  ddbMock.on(GetItemCommand).resolves({
    Item: { id: { S: "test-consumer#x" }, status: { S: "INPROGRESS" } },
  });
});

/** A consumer whose step outlasts the record deadline (400 ms left: the deadline is at 200). */
function slowConsumer(isDone?: ConsumerDefinition<Message, unknown>["isDone"]) {
  const handler = storeConsumer(dynamo, {
    process: () => new Promise((resolve) => setTimeout(() => resolve({}), 600)),
    ...(isDone ? { isDone } : {}),
  });
  const lastDelivery = record({
    messageId: "m-1",
    body: body("a"),
    attempt: 5,
    fifo: true,
    groupId: "order-1",
  });
  return () => handler(sqsEvent(lastDelivery), lambdaContext(400));
}

const deadLettered = () =>
  sqsMock
    .commandCalls(SendMessageCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.QueueUrl === DLQ_URL);

const committedAlready = () =>
  new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    Item: { status: { S: "INPROGRESS" }, committedBy: { S: "m-1" } },
  });

describe("a FIFO record on its last delivery, its step still running at the deadline", () => {
  it("is given up on its idempotency record, then dead-lettered (RECORD_DEADLINE)", async () => {
    const response = await slowConsumer()();
    const giveUps = ddbMock.commandCalls(UpdateItemCommand, GIVE_UP);
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]?.args[0].input).toMatchObject({
      TableName: "idempotency",
      ExpressionAttributeValues: { ":holder": { S: "m-1" } },
    });
    expect(failedIds(response)).toEqual([]);
    expect(metadataOf(deadLettered()[0])).toMatchObject({
      reason: "retries-exhausted",
      errorCode: "RECORD_DEADLINE",
    });
  });

  it("is acknowledged, not dead-lettered, when its effect committed first", async () => {
    ddbMock.on(UpdateItemCommand, GIVE_UP).rejects(committedAlready());
    const response = await slowConsumer()();
    expect(failedIds(response)).toEqual([]);
    expect(deadLettered()).toEqual([]);
  });

  it("with isDone, is acknowledged only when that says the rest of its work is done too", async () => {
    ddbMock.on(UpdateItemCommand, GIVE_UP).rejects(committedAlready());
    // Asked before the give-up (not yet), then after it finds the effect committed.
    const done = vi.fn().mockResolvedValueOnce(false).mockResolvedValueOnce(true);
    await slowConsumer(done)();
    expect(done).toHaveBeenCalledTimes(2);
    expect(deadLettered()).toEqual([]);

    // More work follows the effect and is not done: dead-lettered, for a replay to finish it.
    sqsMock.resetHistory();
    await slowConsumer(async () => false)();
    expect(metadataOf(deadLettered()[0]).errorCode).toBe("RECORD_DEADLINE");
  });
});

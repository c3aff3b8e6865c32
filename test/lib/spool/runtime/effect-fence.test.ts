import { IdempotencyConfig } from "@aws-lambda-powertools/idempotency";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  commitItem,
  type EffectFence,
  type EffectWrite,
  giveUp,
  writeFenced,
} from "../../../../lib/spool/runtime/effect-fence.js";
import { TransientError } from "../../../../lib/spool/runtime/errors.js";
import { SpoolIdempotencyStore } from "../../../../lib/spool/runtime/idempotency-store.js";

const low = new DynamoDBClient({ region: "us-east-1" });
const db = DynamoDBDocumentClient.from(low);
const mock = mockClient(low);
const docs = mockClient(db);

const fence: EffectFence = {
  record: { table: "Idempotency", key: { id: "order-events#abc=" }, statusAttribute: "status" },
  holder: "message-5",
};
const effect: EffectWrite = {
  Update: {
    TableName: "Effects",
    Key: { pk: "order#o-1", sk: "projection" },
    UpdateExpression: "SET lastSeq = :seq",
    ConditionExpression: "attribute_not_exists(lastSeq) OR lastSeq < :seq",
    ExpressionAttributeValues: { ":seq": 1 },
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  },
};

const cancelled = (reasons: { Code: string; Item?: Record<string, unknown> }[]) =>
  new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: reasons as never,
  });

describe("writeFenced", () => {
  beforeEach(() => {
    docs.reset();
    mock.reset();
  });

  it("without a fence, writes the effect as the plain update it is", async () => {
    docs.on(UpdateCommand).resolves({});
    await writeFenced(db, undefined, effect);
    expect(docs.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual(effect.Update);
    expect(docs.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("with a fence, commits the effect and the record's mark in one transaction", async () => {
    docs.on(TransactWriteCommand).resolves({});
    await writeFenced(db, fence, effect);
    const [call] = docs.commandCalls(TransactWriteCommand);
    expect(call?.args[0].input.TransactItems).toEqual([
      effect,
      {
        Update: {
          TableName: "Idempotency",
          Key: { id: "order-events#abc=" },
          UpdateExpression: "SET committedBy = :holder",
          ConditionExpression: "#status = :inProgress AND attribute_not_exists(givenUpBy)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":holder": "message-5", ":inProgress": "INPROGRESS" },
        },
      },
    ]);
    expect(commitItem(fence)).toEqual(call?.args[0].input.TransactItems?.[1]);
  });

  it("a failed condition of the effect itself reads as the plain write's, with the old item", async () => {
    const old = { pk: { S: "order#o-1" }, lastSeq: { N: "1" } };
    docs
      .on(TransactWriteCommand)
      .rejects(cancelled([{ Code: "ConditionalCheckFailed", Item: old }, { Code: "None" }]));
    const error = await writeFenced(db, fence, effect).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).toEqual(old);
  });

  it("a refused mark (the record was given up) is a transient RECORD_DEADLINE: no effect", async () => {
    docs
      .on(TransactWriteCommand)
      .rejects(cancelled([{ Code: "None" }, { Code: "ConditionalCheckFailed" }]));
    const error = await writeFenced(db, fence, effect).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: "RECORD_DEADLINE", details: { givenUp: true } });
  });

  it("a transaction conflict propagates as it is (retried like any transient failure)", async () => {
    const conflict = cancelled([{ Code: "TransactionConflict" }, { Code: "None" }]);
    docs.on(TransactWriteCommand).rejects(conflict);
    await expect(writeFenced(db, fence, effect)).rejects.toBe(conflict);
  });
});

describe("writeFenced, an effect of several items", () => {
  const check = {
    ConditionCheck: {
      TableName: "Effects",
      Key: { pk: "suppressed#a@example.com", sk: "suppression" },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  };
  const items = [check, effect];

  beforeEach(() => docs.reset());

  it("without a fence, is one transaction of its items", async () => {
    docs.on(TransactWriteCommand).resolves({});
    await writeFenced(db, undefined, items);
    expect(docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toEqual(items);
  });

  it("with a fence, commits last, so the items keep their indexes", async () => {
    docs.on(TransactWriteCommand).resolves({});
    await writeFenced(db, fence, items);
    expect(docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toEqual([
      ...items,
      commitItem(fence),
    ]);
  });

  it("a failed condition of one of its items rethrows the cancellation as DynamoDB sent it", async () => {
    const refused = cancelled([
      { Code: "ConditionalCheckFailed" },
      { Code: "None" },
      { Code: "None" },
    ]);
    docs.on(TransactWriteCommand).rejects(refused);
    await expect(writeFenced(db, fence, items)).rejects.toBe(refused);
  });

  it("a refused mark is a transient RECORD_DEADLINE", async () => {
    docs
      .on(TransactWriteCommand)
      .rejects(cancelled([{ Code: "None" }, { Code: "None" }, { Code: "ConditionalCheckFailed" }]));
    await expect(writeFenced(db, fence, items)).rejects.toMatchObject({ code: "RECORD_DEADLINE" });
  });
});

describe("writeFenced, completing the record", () => {
  const completion = {
    dataAttribute: "data",
    expiryAttribute: "expiration",
    expiresAt: () => 1_900_000_000,
    stored: (result: unknown) => ({ value: result }),
    committed: vi.fn(),
  };
  const completingFence: EffectFence = { ...fence, record: { ...fence.record, completion } };

  beforeEach(() => {
    docs.reset();
    completion.committed.mockReset();
  });

  it("sets the record COMPLETED with the stored result, and says so once committed", async () => {
    docs.on(TransactWriteCommand).resolves({});
    await writeFenced(db, completingFence, effect, { completesWith: { applied: true } });
    const commit = docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1];
    expect(commit?.Update?.ExpressionAttributeValues).toEqual({
      ":holder": "message-5",
      ":inProgress": "INPROGRESS",
      ":completed": "COMPLETED",
      ":data": { value: { applied: true } },
      ":expiry": 1_900_000_000,
    });
    expect(completion.committed).toHaveBeenCalledWith({ value: { applied: true } });
  });

  it("says nothing when the transaction is refused", async () => {
    docs
      .on(TransactWriteCommand)
      .rejects(cancelled([{ Code: "ConditionalCheckFailed" }, { Code: "None" }]));
    await expect(
      writeFenced(db, completingFence, effect, { completesWith: { applied: true } }),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(completion.committed).not.toHaveBeenCalled();
  });

  it("without completesWith, only marks the record (Powertools completes it after the step)", async () => {
    docs.on(TransactWriteCommand).resolves({});
    await writeFenced(db, completingFence, effect);
    const commit = docs.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1];
    expect(commit?.Update?.UpdateExpression).toBe("SET committedBy = :holder");
    expect(completion.committed).not.toHaveBeenCalled();
  });
});

describe("giveUp", () => {
  beforeEach(() => mock.reset());

  const conditionFailed = (item?: Record<string, unknown>) =>
    new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
      ...(item ? { Item: item as never } : {}),
    });

  it("marks the record given up, only while it is in progress and nothing committed", async () => {
    mock.on(UpdateItemCommand).resolves({});
    expect(await giveUp(low, fence)).toBe("given-up");
    expect(mock.commandCalls(UpdateItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: "Idempotency",
      Key: { id: { S: "order-events#abc=" } },
      UpdateExpression: "SET givenUpBy = :holder",
      ConditionExpression: "#status = :inProgress AND attribute_not_exists(committedBy)",
      ExpressionAttributeValues: {
        ":holder": { S: "message-5" },
        ":inProgress": { S: "INPROGRESS" },
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
  });

  it("says committed when the effect's mark is there, or the record already completed", async () => {
    mock
      .on(UpdateItemCommand)
      .rejectsOnce(conditionFailed({ status: { S: "INPROGRESS" }, committedBy: { S: "m" } }))
      .rejectsOnce(conditionFailed({ status: { S: "COMPLETED" } }));
    expect(await giveUp(low, fence)).toBe("committed");
    expect(await giveUp(low, fence)).toBe("committed");
  });

  it("says not-held when no record is left (the step failed) or it was given up before", async () => {
    mock
      .on(UpdateItemCommand)
      .rejectsOnce(conditionFailed())
      .rejectsOnce(conditionFailed({ status: { S: "INPROGRESS" }, givenUpBy: { S: "m" } }));
    expect(await giveUp(low, fence)).toBe("not-held");
    expect(await giveUp(low, fence)).toBe("not-held");
  });

  it("lets any other error through (the record is then retried, not dead-lettered)", async () => {
    const throttled = new Error("throttled");
    mock.on(UpdateItemCommand).rejects(throttled);
    await expect(giveUp(low, fence)).rejects.toThrow("throttled");
  });
});

describe("SpoolIdempotencyStore.recordRefOf", () => {
  beforeEach(() => mock.reset());

  it("names the very record Powertools writes for the same step input", async () => {
    mock.on(PutItemCommand).resolves({});
    const store = new SpoolIdempotencyStore({ tableName: "Idempotency", awsSdkV3Client: low });
    store.configure({
      config: new IdempotencyConfig({ eventKeyJmesPath: "key" }),
      keyPrefix: "order-events",
    });
    const input = { key: "o-1#1", payload: { seq: 1 }, message: { seq: 1 } };
    await store.saveInProgress(input, 5_000);
    const written = mock.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    const ref = store.recordRefOf(input);
    expect(ref).toEqual({
      table: "Idempotency",
      key: { id: written?.id?.S },
      statusAttribute: "status",
    });
    expect(ref.key.id).toMatch(/^order-events#/);
    expect(written?.status?.S).toBe("INPROGRESS");
  });
});

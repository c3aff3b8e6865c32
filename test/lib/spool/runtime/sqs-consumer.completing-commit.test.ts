import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { RecordContext } from "../../../../lib/spool/runtime/consumer-types.js";
import { type EffectWrite, writeFenced } from "../../../../lib/spool/runtime/effect-fence.js";
import type { ConsumerDefinition } from "../../../../lib/spool/runtime/sqs-consumer.js";
import { lambdaContext, sqsEvent } from "../../../helpers/sqs.js";
import {
  body,
  failedIds,
  type Message,
  record,
  storeConsumer,
  useConsumerHarness,
} from "../../../helpers/sqs-consumer-harness.js";

useConsumerHarness();

const low = new DynamoDBClient({ region: "us-east-1" });
const db = DynamoDBDocumentClient.from(low);
const ddbMock = mockClient(low);
const docMock = mockClient(db);

beforeEach(() => {
  ddbMock.reset();
  docMock.reset();
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(UpdateItemCommand).resolves({});
  ddbMock.on(DeleteItemCommand).resolves({});
  docMock.on(TransactWriteCommand).resolves({});
});

const effect = (id: string): EffectWrite => ({
  Put: {
    TableName: "effects",
    Item: { pk: `effect#${id}` },
    ConditionExpression: "attribute_not_exists(pk)",
  },
});

type Step = ConsumerDefinition<Message, unknown>["process"];

function consumer(process: Step) {
  const handler = storeConsumer(low, { process });
  return (id: string, messageId = `m-${id}`) =>
    handler(sqsEvent(record({ messageId, body: body(id) })), lambdaContext(30_000));
}

/** Every DynamoDB call the pipeline and the step made, by command name (sorted: two mocks). */
const dynamoCalls = () =>
  [...ddbMock.calls(), ...docMock.calls()].map((call) => call.args[0].constructor.name).sort();

/** The commit item of the step's transaction (its last item). */
const commitOf = (call = 0) =>
  docMock.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems?.at(-1)?.Update;

/** A step that writes its effect fenced, completing with `says`, then returns `returns`. */
const fencedStep =
  (says: unknown, returns: unknown = says): Step =>
  async (message: Message, ctx: RecordContext) => {
    await writeFenced(db, ctx.effectFence, effect(message.id), { completesWith: says });
    return returns;
  };

describe("a new message whose step completes its record in the effect's transaction", () => {
  it("costs two DynamoDB calls: the in-progress put and the transaction", async () => {
    const response = await consumer(fencedStep({ applied: true }))("a");
    expect(failedIds(response)).toEqual([]);
    expect(dynamoCalls()).toEqual(["PutItemCommand", "TransactWriteCommand"]);
    expect(commitOf()).toMatchObject({
      TableName: "idempotency",
      UpdateExpression:
        "SET committedBy = :holder, #status = :completed, #data = :data, #expiry = :expiry",
      ConditionExpression: "#status = :inProgress AND attribute_not_exists(givenUpBy)",
      ExpressionAttributeNames: { "#status": "status", "#data": "data", "#expiry": "expiration" },
      ExpressionAttributeValues: {
        ":holder": "m-a",
        ":completed": "COMPLETED",
        ":data": { value: { applied: true } },
      },
    });
    // The expiry Powertools writes for a completed record: the TTL from now.
    const expiry = commitOf()?.ExpressionAttributeValues?.[":expiry"] as number;
    expect(Math.abs(expiry - (Date.now() / 1000 + 3_600))).toBeLessThan(5);
  });

  it("writes the record again when the step returns something else than it said", async () => {
    await consumer(fencedStep({ applied: true }, { applied: true, note: "more" }))("a");
    expect(dynamoCalls()).toEqual(
      ["PutItemCommand", "TransactWriteCommand", "UpdateItemCommand"].sort(),
    );
    const update = ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.ExpressionAttributeValues?.[":response_data"]).toEqual({
      M: { value: { M: { applied: { BOOL: true }, note: { S: "more" } } } },
    });
  });

  it("keeps Powertools' update when the step does not say its result", async () => {
    await consumer(async (message, ctx) => {
      await writeFenced(db, ctx.effectFence, effect(message.id));
      return { applied: true };
    })("a");
    expect(dynamoCalls()).toEqual(
      ["PutItemCommand", "TransactWriteCommand", "UpdateItemCommand"].sort(),
    );
    expect(commitOf()?.UpdateExpression).toBe("SET committedBy = :holder");
  });

  it("removes the record when the step fails after its commit, and the retry writes its own", async () => {
    let failAfterCommit = true;
    const handle = consumer(async (message, ctx) => {
      await writeFenced(db, ctx.effectFence, effect(message.id), { completesWith: "done" });
      if (failAfterCommit) throw new Error("a later part of the step failed");
      return "done again";
    });
    expect(failedIds(await handle("a"))).toEqual(["m-a"]);
    expect(ddbMock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    failAfterCommit = false;
    ddbMock.resetHistory();
    docMock.resetHistory();
    await handle("a", "m-a-2");
    // The second commit's note is for its own result ("done"); the step returned another.
    expect(dynamoCalls()).toEqual(
      ["PutItemCommand", "TransactWriteCommand", "UpdateItemCommand"].sort(),
    );
  });

  it("a step without a fence (no idempotency table) writes its effect alone", async () => {
    await writeFenced(db, undefined, effect("b"), { completesWith: { applied: true } });
    expect(docMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

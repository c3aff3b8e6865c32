import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { deliverTask } from "../../../../../lib/spool/delayed-tasks/runtime/deliver.js";
import {
  type TaskMessage,
  taskMessage,
  taskMessageOf,
} from "../../../../../lib/spool/delayed-tasks/runtime/message.js";
import { payloadKey, pointerEnvelope } from "../../../../../lib/spool/runtime/payload-pointer.js";
import { createSqsConsumer } from "../../../../../lib/spool/runtime/sqs-consumer.js";
import { db, deliveryDeps } from "../../../../helpers/delayed-tasks.js";
import { FakePayloadObjects } from "../../../../helpers/fake-payload-objects.js";
import { InMemoryPersistenceLayer } from "../../../../helpers/in-memory-persistence.js";
import { lambdaContext, sqsEvent, sqsRecord } from "../../../../helpers/sqs.js";
import {
  metadataOf,
  SOURCE_URL,
  sqsMock,
  useConsumerHarness,
} from "../../../../helpers/sqs-consumer-harness.js";

/**
 * The delivery side as the reference consumer wires it (lambdas/cart-reminders/handler.ts): a task
 * the Scheduler sent up to a minute early is held with an SQS delay, never run early, and run once
 * when it is due.
 */

useConsumerHarness();
// Only the table: the SQS mock here is the harness's (the task fakes mock another client).
beforeEach(() => db.reset());

const Reminder = taskMessageOf(z.object({ orderId: z.string() }));

const BUCKET = "task-payloads";

function consumer(now: Date, objects?: FakePayloadObjects) {
  const effect = vi.fn(async (_task: TaskMessage) => ({ sent: true }));
  const store = new InMemoryPersistenceLayer();
  const handler = createSqsConsumer(
    {
      schema: Reminder,
      idempotencyKey: (task) => task.taskKey,
      notBefore: (task) => task.dueAt,
      process: (task) =>
        deliverTask(task, { ...deliveryDeps(), now: () => now }, () => effect(task)),
    },
    {
      consumerName: "reminders",
      deadLetterQueueUrl: `${SOURCE_URL}-dlq`,
      maxReceiveCount: 5,
      backoff: { baseSeconds: 2, capSeconds: 300 },
      idempotencyTable: "idempotency",
      idempotencyTtlSeconds: 3_600,
      ...(objects ? { payloadBucket: BUCKET } : {}),
    },
    {
      sqs: new SQSClient({ region: "us-east-1" }),
      dynamo: new DynamoDBClient({ region: "us-east-1" }),
      persistenceStore: store,
      logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: "Test", serviceName: "test" }),
      faults: undefined,
      random: () => 0.5,
      now: () => now,
      ...(objects ? { payloadObjects: objects } : {}),
    },
  );
  return { handler, effect, store };
}

const task = taskMessage(
  { key: "reminder#o-1", dueAt: "2026-03-01T10:01:00.000Z", correlationId: "corr-1" },
  "scheduler",
  { orderId: "o-1" },
);
const delivery = (messageId: string) => sqsEvent(sqsRecord({ messageId, body: task }));

describe("a task delivered through the Scheduler", () => {
  it("arriving 41.2 s early is sent again with DelaySeconds 42 and not run", async () => {
    const early = consumer(new Date(Date.parse(task.dueAt) - 41_200));
    const response = await early.handler(delivery("m-1"), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    const [resent] = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(resent).toMatchObject({ QueueUrl: SOURCE_URL, DelaySeconds: 42 });
    expect(JSON.parse(resent?.MessageBody ?? "")).toEqual(task);
    expect(early.effect).not.toHaveBeenCalled();
    // Neither the task record nor an idempotency record was touched.
    expect(db.calls()).toHaveLength(0);
    expect(early.store.calls).toEqual([]);
  });

  it("arriving on time runs once", async () => {
    db.on(UpdateCommand).resolves({});
    const onTime = consumer(new Date(task.dueAt));
    await onTime.handler(delivery("m-2"), lambdaContext());
    await onTime.handler(delivery("m-3"), lambdaContext());

    expect(onTime.effect).toHaveBeenCalledOnce();
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});

describe("a task whose message went through the payload store (offload.ts)", () => {
  const big = taskMessage(
    { key: "reminder#o-2", dueAt: "2026-03-01T10:01:00.000Z", correlationId: "corr-2" },
    "queue-delay",
    { orderId: "o-2", blob: "x".repeat(300_000) },
  );
  const json = JSON.stringify(big);
  const pointer = { bucket: BUCKET, key: payloadKey(json) };
  const { payload: _payload, ...envelope } = big;
  const pointerDelivery = (messageId: string) =>
    sqsEvent(sqsRecord({ messageId, body: pointerEnvelope(envelope, pointer, json.length) }));

  it("is resolved before the schema, and the effect gets the whole payload once", async () => {
    db.on(UpdateCommand).resolves({});
    const objects = new FakePayloadObjects();
    await objects.put(pointer, json);
    const due = consumer(new Date(big.dueAt), objects);
    const response = await due.handler(pointerDelivery("m-4"), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(due.effect).toHaveBeenCalledOnce();
    // The schema strips what it does not know: the step sees the task as its schema reads it.
    expect(due.effect.mock.calls[0]?.[0]).toEqual({ ...big, payload: { orderId: "o-2" } });
    expect(objects.gets).toEqual([pointer]);
  });

  it("whose object is gone is dead-lettered at once (PAYLOAD_UNRESOLVABLE), never claimed", async () => {
    const due = consumer(new Date(big.dueAt), new FakePayloadObjects());
    const response = await due.handler(pointerDelivery("m-5"), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(due.effect).not.toHaveBeenCalled();
    expect(db.calls()).toHaveLength(0);
    const [letter] = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(letter?.QueueUrl).toBe(`${SOURCE_URL}-dlq`);
    expect(metadataOf(letter)).toMatchObject({
      errorCode: "PAYLOAD_UNRESOLVABLE",
      attempts: 1,
    });
    // The letter keeps the pointer: a replay resolves it once the object is back.
    expect(JSON.parse(letter?.MessageBody ?? "")).toMatchObject({
      taskKey: "reminder#o-2",
      payloadPointer: expect.any(Array),
    });
  });
});

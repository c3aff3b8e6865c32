import { randomUUID } from "node:crypto";

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { NotificationRequest } from "../../lambdas/notifications/schema.js";
import { sendNotification } from "../../lambdas/notifications/send-notification.js";
import { documentClient } from "../../lib/spool/runtime/clients.js";
import { SpoolIdempotencyStore } from "../../lib/spool/runtime/idempotency-store.js";
import { type ConsumerConfig, createSqsConsumer } from "../../lib/spool/runtime/sqs-consumer.js";
import { localClientConfig } from "../scripts/lib/local-cloud.js";

/** A DynamoDB client against the emulator that counts the calls made through it. */
function countingDynamo() {
  const client = new DynamoDBClient(localClientConfig());
  const counter = { calls: 0, byCommand: {} as Record<string, number> };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counter.calls++;
      const name = String(context.commandName);
      counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "benchCounter" },
  );
  return { client, counter };
}

const context = {
  functionName: "bench",
  awsRequestId: "bench",
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

function record(id: string): SQSRecord {
  const body = {
    schemaVersion: 1,
    notificationId: id,
    channel: "email",
    recipient: `${id}@example.com`,
    template: "bench",
  };
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(Date.now()),
      SenderId: "bench",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bench",
    awsRegion: "us-east-1",
  };
}

const event = (records: SQSRecord[]): SQSEvent => ({ Records: records });

/**
 * The notifications consumer, in process, against the emulator's tables, with the idempotency
 * store its deployed handler gets (consumer-dependencies.ts): the fence and its completing commit.
 */
function consumer(tables: { idempotency: string; effects: string }, withIdempotency: boolean) {
  const { client, counter } = countingDynamo();
  const config: ConsumerConfig = {
    consumerName: "bench-notifications",
    deadLetterQueueUrl: undefined,
    maxReceiveCount: 5,
    backoff: { baseSeconds: 1, capSeconds: 8 },
    idempotencyTable: withIdempotency ? tables.idempotency : undefined,
    idempotencyTtlSeconds: 3600,
  };
  const db = documentClient(client);
  const handler = createSqsConsumer(
    {
      schema: NotificationRequest,
      idempotencyKey: (r) => r.notificationId,
      process: (r, ctx) =>
        sendNotification(r, ctx, { db, table: tables.effects, now: () => new Date() }),
    },
    config,
    {
      sqs: new SQSClient(localClientConfig()),
      dynamo: client,
      persistenceStore: withIdempotency
        ? new SpoolIdempotencyStore({ tableName: tables.idempotency, awsSdkV3Client: client })
        : undefined,
      logger: new Logger({ logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: "Bench", singleMetric: false }),
      faults: undefined,
      random: Math.random,
      now: () => new Date(),
    },
  );
  return { handler, counter };
}

export interface DynamoCallFigures {
  readonly newMessage: number;
  readonly duplicate: number;
  readonly cacheHit: number;
  readonly withoutIdempotency: number;
}

/** DynamoDB calls made for one message: new, duplicate (cold cache), duplicate (warm cache). */
export async function dynamoCallsPerMessage(tables: {
  idempotency: string;
  effects: string;
}): Promise<DynamoCallFigures> {
  const id = `bench-${randomUUID().slice(0, 12)}`;
  const warm = consumer(tables, true);
  await warm.handler(event([record(id)]), context);
  const newMessage = warm.counter.calls;

  warm.counter.calls = 0;
  await warm.handler(event([record(id)]), context);
  const cacheHit = warm.counter.calls;

  const cold = consumer(tables, true);
  await cold.handler(event([record(id)]), context);
  const duplicate = cold.counter.calls;

  const bare = consumer(tables, false);
  await bare.handler(event([record(`bench-${randomUUID().slice(0, 12)}`)]), context);
  return { newMessage, duplicate, cacheHit, withoutIdempotency: bare.counter.calls };
}

/** Messages per second through the handler, in process, batches of 10 fresh messages. */
export async function inProcessThroughput(
  tables: { idempotency: string; effects: string },
  withIdempotency: boolean,
  batches = 30,
): Promise<number> {
  const { handler } = consumer(tables, withIdempotency);
  await handler(event([record(`bench-warmup-${randomUUID()}`)]), context);
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const records = Array.from({ length: 10 }, () => record(`bench-${randomUUID().slice(0, 12)}`));
    const response = await handler(event(records), context);
    if (response.batchItemFailures.length) throw new Error("benchmark batch had failures");
  }
  return (batches * 10) / ((performance.now() - started) / 1000);
}

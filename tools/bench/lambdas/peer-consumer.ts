/**
 * The consumer a user would write without Spool, for the bench's side-by-side (issue 15): the
 * same message schema and the same effect as the notifications consumer, with Powertools'
 * BatchProcessor (partial batch response), makeIdempotent on the DynamoDB persistence layer and
 * Logger, and nothing else: no backoff, no dead-letter metadata, no FIFO handling, no deadlines,
 * no metrics. Bundled the same way as Spool's functions (tools/bench/peer.ts, SpoolBench stack).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { NotificationRequest } from "../../../lambdas/notifications/schema.js";
import { sendNotification } from "../../../lambdas/notifications/send-notification.js";

const logger = new Logger();
const dynamo = new DynamoDBClient({});
const db = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
const table = process.env.EFFECTS_TABLE ?? "";
const processor = new BatchProcessor(EventType.SQS);
const config = new IdempotencyConfig({ eventKeyJmesPath: "notificationId" });

const deliver = makeIdempotent(
  async (request: NotificationRequest, record: SQSRecord) =>
    sendNotification(
      request,
      { messageId: record.messageId, correlationId: request.correlationId ?? "", attempt: 1 },
      { db, table, now: () => new Date() },
    ),
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: process.env.IDEMPOTENCY_TABLE ?? "",
      awsSdkV3Client: dynamo,
    }),
    config,
    dataIndexArgument: 0,
  },
);

const recordHandler = async (record: SQSRecord) => {
  const request = NotificationRequest.parse(JSON.parse(record.body));
  const result = await deliver(request, record);
  logger.info("processed", { notificationId: request.notificationId });
  return result;
};

export const handler = async (event: SQSEvent, context: Context) => {
  config.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
};

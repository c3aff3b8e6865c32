import { Logger } from "@aws-lambda-powertools/logger";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { dynamoClient, sqsClient } from "../../runtime/clients.js";
import { publisherConfigFromEnv, publishOutbox } from "./publish.js";

const config = publisherConfigFromEnv();
const deps = {
  events: new EventBridgeClient({}),
  dynamo: dynamoClient(),
  sqs: sqsClient(),
  logger: new Logger(),
  now: () => new Date(),
  random: Math.random,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** The outbox table's stream (INSERTs of outbox rows) → EventBridge. */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const { batchItemFailures } = await publishOutbox(event.Records ?? [], config, deps);
  return { batchItemFailures };
}

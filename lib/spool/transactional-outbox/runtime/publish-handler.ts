import { Logger } from "@aws-lambda-powertools/logger";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { dynamoClient, sqsClient } from "../../runtime/clients.js";
import { sharedS3PayloadObjects } from "../../runtime/payload-objects-s3.js";
import { publisherConfigFromEnv, publishOutbox } from "./publish.js";

const config = publisherConfigFromEnv();
const deps = {
  events: new EventBridgeClient({}),
  dynamo: dynamoClient(),
  sqs: sqsClient(),
  // Compared first so a bundle built without a store folds it to false and drops the S3 adapter
  // and its SDK (payload-switch.ts); the bucket then makes the first oversized event fail loudly.
  payloadObjects:
    process.env.SPOOL_PAYLOAD_S3_BUNDLED !== "false" && config.payloadBucket
      ? sharedS3PayloadObjects()
      : undefined,
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

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { dynamoClient, sqsClient } from "./clients.js";
import type { ConsumerConfig } from "./consumer-config.js";
import type { ConsumerDependencies } from "./consumer-types.js";
import { faultInjectorFromEnv } from "./faults.js";
import { SpoolIdempotencyStore } from "./idempotency-store.js";
import { sharedS3PayloadObjects } from "./payload-objects-s3.js";

/**
 * What a consumer runs with in Lambda: SDK clients created once per container (DynamoDB faults
 * injected only under test hooks), the idempotency store when the consumer has a table, the S3
 * adapter for claim-check pointers when it has a payload store (bundled only then, its SDK loaded
 * on the first pointer), and Powertools' logger and metrics. Tests pass their own fakes instead.
 */
export function defaultDependencies(config: ConsumerConfig): ConsumerDependencies {
  const faults = faultInjectorFromEnv();
  const dynamo = dynamoClient(faults);
  return {
    sqs: sqsClient(),
    dynamo,
    persistenceStore: config.idempotencyTable
      ? new SpoolIdempotencyStore({ tableName: config.idempotencyTable, awsSdkV3Client: dynamo })
      : undefined,
    // Compared first so a bundle built without a store folds it to false and drops the adapter
    // and its SDK (payload-switch.ts); the bucket then makes the consumer refuse to start.
    payloadObjects:
      process.env.SPOOL_PAYLOAD_S3_BUNDLED !== "false" && config.payloadBucket
        ? sharedS3PayloadObjects()
        : undefined,
    logger: new Logger(),
    metrics: new Metrics({ defaultDimensions: { consumer: config.consumerName } }),
    faults,
    random: Math.random,
    now: () => new Date(),
  };
}

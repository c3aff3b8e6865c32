import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { FaultInjector } from "./faults.js";

/**
 * SDK clients shaped for Spool handlers: created once per container, endpoint taken from the
 * environment (an emulator injects AWS_ENDPOINT_URL; in AWS the regional endpoint is used).
 */

export function sqsClient(): SQSClient {
  // Queue URLs from an emulator name a host (localhost:4566) that may differ from the endpoint
  // the function was given; resolving the endpoint from configuration keeps one host everywhere.
  return new SQSClient({ useQueueUrlAsEndpoint: false });
}

/** A DynamoDB client whose calls may fail on purpose when fault injection is on. */
export function dynamoClient(faults?: FaultInjector): DynamoDBClient {
  const client = new DynamoDBClient({});
  if (faults) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        await faults.holdCommit(context.commandName ?? "");
        faults.maybeFailDynamoCall();
        return next(args);
      },
      { step: "initialize", name: "spoolFaultInjection" },
    );
  }
  return client;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

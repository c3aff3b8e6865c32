import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { localClientConfig } from "./local-cloud.js";

/** SDK clients for scripts and tests that talk to the local emulator. */
export function localClients() {
  const config = localClientConfig();
  const dynamo = new DynamoDBClient(config);
  return {
    config,
    // Queue URLs name localhost:4566 while the endpoint may be 127.0.0.1: use the endpoint.
    sqs: new SQSClient({ ...config, useQueueUrlAsEndpoint: false }),
    dynamo,
    ddb: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    logs: new CloudWatchLogsClient(config),
    lambda: new LambdaClient(config),
  };
}

export type LocalClients = ReturnType<typeof localClients>;

/** The structured (JSON) log lines a function wrote that mention `needle`. */
export async function functionLogLines(
  clients: Pick<LocalClients, "logs" | "lambda">,
  functionName: string,
  needle: string,
): Promise<Record<string, unknown>[]> {
  const fn = await clients.lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: functionName }),
  );
  const logGroupName = fn.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`;
  const lines: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.logs.send(
      new FilterLogEventsCommand({
        logGroupName,
        filterPattern: `"${needle}"`,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const event of page.events ?? []) {
      const text = event.message ?? "";
      const start = text.indexOf("{");
      if (start < 0) continue;
      try {
        lines.push(JSON.parse(text.slice(start)) as Record<string, unknown>);
      } catch {
        // not a structured line
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return lines;
}

/** Messages in flight on a queue: received by someone and not yet deleted or released. */
export async function hiddenMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Messages on a queue in any state: visible, in flight, or delayed. */
export async function outstandingMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/**
 * One pass over a queue: receives every visible message, deletes and returns those `take`
 * wants, and hides the others only for the pass (released at the end), so a queue holding many
 * foreign messages cannot starve the scan: a receive returns at most ten, always the first ones.
 */
export async function takeMatching(
  sqs: SQSClient,
  queueUrl: string,
  take: (message: Message) => boolean,
): Promise<Message[]> {
  const taken: Message[] = [];
  const hidden: Message[] = [];
  try {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 60,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) break;
      const mine = Messages.filter(take);
      hidden.push(...Messages.filter((m) => !take(m)));
      if (mine.length) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: mine.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        taken.push(...mine);
      }
    }
  } finally {
    for (let i = 0; i < hidden.length; i += 10) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: hidden.slice(i, i + 10).map((m, j) => ({
            Id: `h${j}`,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }
  return taken;
}

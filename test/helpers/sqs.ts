import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";

export const STANDARD_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:q";
export const FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:q.fifo";

/** 2024-05-01T10:00:00.000Z */
export const FIRST_RECEIVED_MS = 1_714_557_600_000;

export interface RecordOptions {
  readonly messageId: string;
  /** A string is sent as is; anything else is JSON-encoded. */
  readonly body: unknown;
  readonly attempt?: number;
  readonly fifo?: boolean;
  /** FIFO only; `null` leaves it out (as some emulators do). */
  readonly groupId?: string | null;
  readonly attributes?: Record<string, string>;
  readonly messageAttributes?: SQSMessageAttributes;
  readonly eventSourceARN?: string;
}

/** A string message attribute as the Lambda SQS event carries it. */
export function stringAttribute(value: string) {
  return { stringValue: value, stringListValues: [], binaryListValues: [], dataType: "String" };
}

export function sqsRecord(options: RecordOptions): SQSRecord {
  const fifo = options.fifo ?? false;
  const groupId = options.groupId === undefined ? "group-1" : options.groupId;
  return {
    messageId: options.messageId,
    receiptHandle: `receipt-${options.messageId}`,
    body: typeof options.body === "string" ? options.body : JSON.stringify(options.body),
    attributes: {
      ApproximateReceiveCount: String(options.attempt ?? 1),
      SentTimestamp: String(FIRST_RECEIVED_MS - 1_000),
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: String(FIRST_RECEIVED_MS),
      ...(fifo && groupId !== null
        ? {
            MessageGroupId: groupId,
            MessageDeduplicationId: `dedup-${options.messageId}`,
            SequenceNumber: "1",
          }
        : {}),
      ...options.attributes,
    },
    messageAttributes: options.messageAttributes ?? {},
    md5OfBody: "not-checked",
    eventSource: "aws:sqs",
    eventSourceARN: options.eventSourceARN ?? (fifo ? FIFO_QUEUE_ARN : STANDARD_QUEUE_ARN),
    awsRegion: "us-east-1",
  } as SQSRecord;
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function lambdaContext(remainingMs = 30_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "test-consumer",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:test-consumer",
    memoryLimitInMB: "256",
    awsRequestId: "request-1",
    logGroupName: "/aws/lambda/test-consumer",
    logStreamName: "stream",
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

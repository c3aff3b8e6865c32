import {
  type MessageAttributeValue,
  SendMessageCommand,
  type SendMessageCommandInput,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { DeadLetterReason } from "./error-codes.js";
import type { Classified } from "./errors.js";
import { REPLAY_ATTRIBUTE } from "./replay-marker.js";

/**
 * The message attribute that carries Spool's dead-letter metadata as JSON.
 *
 * The body of a dead letter is the original body, byte for byte, so a replay sends exactly what
 * the producer sent; everything an operator needs to decide about it rides in this one attribute
 * (SQS allows only 10 attributes per message, and the original message's own attributes are kept).
 */
export const DEAD_LETTER_ATTRIBUTE = "spool-dead-letter";

/** SQS refuses more than 10 message attributes on one message. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_ERROR_MESSAGE_CHARS = 1_000;
const MAX_DETAILS_CHARS = 2_000;

/** The reasons and what each means live in the error-code catalogue (a public contract). */
export type { DeadLetterReason } from "./error-codes.js";

export interface DeadLetterMetadata {
  readonly version: 1;
  readonly reason: DeadLetterReason;
  readonly errorClass: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly errorDetails?: Record<string, unknown>;
  /** The id SQS gave the message on the source queue. */
  readonly messageId: string;
  /** Deliveries so far (the source queue's ApproximateReceiveCount). */
  readonly attempts: number;
  /** When the message was first received from the source queue (its first attempt). */
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
  /** ARN of the queue the message came from: where a replay sends it back. */
  readonly sourceQueue: string;
  readonly correlationId: string;
  /** The body's `schemaVersion` when it had one; null when the body could not be read. */
  readonly schemaVersion: string | number | null;
  readonly messageGroupId?: string;
  /** The consumer (function name) that dead-lettered it. */
  readonly consumer: string;
}

export interface DeadLetterInput {
  readonly record: SQSRecord;
  readonly failure: Classified;
  readonly reason: DeadLetterReason;
  readonly correlationId: string;
  readonly body: unknown;
  readonly consumer: string;
  readonly now: Date;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function schemaVersionOf(body: unknown): string | number | null {
  if (body !== null && typeof body === "object") {
    const version = (body as Record<string, unknown>).schemaVersion;
    if (typeof version === "string" || typeof version === "number") return version;
    // A whole EventBridge event carries the Spool envelope (and its version) in `detail`.
    const detail = (body as Record<string, unknown>).detail;
    if (detail !== null && typeof detail === "object") return schemaVersionOf(detail);
  }
  return null;
}

function boundedDetails(details: Record<string, unknown> | undefined) {
  if (!details) return undefined;
  const text = JSON.stringify(details);
  return text.length <= MAX_DETAILS_CHARS
    ? details
    : { truncated: truncate(text, MAX_DETAILS_CHARS) };
}

export function deadLetterMetadata(input: DeadLetterInput): DeadLetterMetadata {
  const { record, failure } = input;
  const firstReceived = Number(record.attributes.ApproximateFirstReceiveTimestamp);
  const details = boundedDetails(failure.details);
  const groupId = record.attributes.MessageGroupId;
  return {
    version: 1,
    reason: input.reason,
    errorClass: failure.errorClass,
    errorCode: failure.code,
    errorMessage: truncate(failure.message, MAX_ERROR_MESSAGE_CHARS),
    ...(details ? { errorDetails: details } : {}),
    messageId: record.messageId,
    attempts: Number(record.attributes.ApproximateReceiveCount) || 1,
    firstFailureAt:
      Number.isFinite(firstReceived) && firstReceived > 0
        ? new Date(firstReceived).toISOString()
        : input.now.toISOString(),
    lastFailureAt: input.now.toISOString(),
    sourceQueue: record.eventSourceARN,
    correlationId: input.correlationId,
    schemaVersion: schemaVersionOf(input.body),
    ...(groupId ? { messageGroupId: groupId } : {}),
    consumer: input.consumer,
  };
}

/** Reads the metadata back from a dead letter's attributes; undefined for a foreign message. */
export function parseDeadLetterMetadata(
  attributes: Record<string, { StringValue?: string; stringValue?: string }> | undefined,
): DeadLetterMetadata | undefined {
  const attribute = attributes?.[DEAD_LETTER_ATTRIBUTE];
  const raw = attribute?.StringValue ?? attribute?.stringValue;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as DeadLetterMetadata;
    return parsed.version === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Lambda event's attribute shape → the SendMessage shape, keeping the original attributes
 * (at most 9: one slot stays free for the dead-letter metadata). A replay's mark goes first, so
 * a replayed message dead-lettered again still says which replay sent it, whatever else is cut.
 */
export function carriedAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  const carried: Record<string, MessageAttributeValue> = {};
  const entries = Object.entries(record.messageAttributes ?? {}).sort(
    ([a], [b]) => Number(b === REPLAY_ATTRIBUTE) - Number(a === REPLAY_ATTRIBUTE),
  );
  for (const [name, value] of entries) {
    if (name === DEAD_LETTER_ATTRIBUTE) continue;
    if (Object.keys(carried).length >= MAX_MESSAGE_ATTRIBUTES - 1) break;
    const dataType = value.dataType ?? "String";
    if (value.stringValue !== undefined) {
      carried[name] = { DataType: dataType, StringValue: value.stringValue };
    } else if (value.binaryValue !== undefined) {
      carried[name] = { DataType: dataType, BinaryValue: Buffer.from(value.binaryValue, "base64") };
    }
  }
  return carried;
}

export function deadLetterMessage(
  queueUrl: string,
  record: SQSRecord,
  metadata: DeadLetterMetadata,
): SendMessageCommandInput {
  const fifo = queueUrl.endsWith(".fifo");
  return {
    QueueUrl: queueUrl,
    MessageBody: record.body,
    MessageAttributes: {
      ...carriedAttributes(record),
      [DEAD_LETTER_ATTRIBUTE]: { DataType: "String", StringValue: JSON.stringify(metadata) },
    },
    ...(fifo
      ? {
          // Keeping the group keeps dead letters of one entity in order; the message id makes a
          // second send after a crash a no-op within SQS's five-minute deduplication window.
          MessageGroupId: metadata.messageGroupId ?? "spool-dead-letters",
          MessageDeduplicationId: record.messageId,
        }
      : {}),
  };
}

/** SQS's answers when a message (body plus attributes) is over the queue's size limit. */
const TOO_LARGE =
  /InvalidParameterValue|MessageTooLong|InvalidMessageContents|too long|shorter than/i;

/**
 * Sends the record to the dead-letter queue with its metadata. A body close to the size limit
 * can be pushed over it by the metadata, so a refusal for size is retried once with the
 * metadata cut to its essentials. Throws if SQS still refuses.
 */
export async function sendToDeadLetterQueue(
  sqs: SQSClient,
  queueUrl: string,
  input: DeadLetterInput,
): Promise<DeadLetterMetadata> {
  const metadata = deadLetterMetadata(input);
  try {
    await sqs.send(new SendMessageCommand(deadLetterMessage(queueUrl, input.record, metadata)));
    return metadata;
  } catch (error) {
    const text = `${(error as Error).name} ${(error as Error).message}`;
    if (!TOO_LARGE.test(text)) throw error;
    const { errorDetails: _dropped, ...essentials } = metadata;
    const trimmed: DeadLetterMetadata = {
      ...essentials,
      errorMessage: truncate(metadata.errorMessage, 200),
    };
    await sqs.send(new SendMessageCommand(deadLetterMessage(queueUrl, input.record, trimmed)));
    return trimmed;
  }
}

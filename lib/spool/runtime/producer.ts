import type { MessageAttributeValue, SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { CORRELATION_ID_ATTRIBUTE, newCorrelationId } from "./correlation.js";

export interface SpoolMessage {
  readonly queueUrl: string;
  /** Serialized as JSON unless already a string. */
  readonly body: unknown;
  /** Carried as the `correlation-id` attribute; a new one is made when absent. */
  readonly correlationId?: string;
  /** FIFO: the entity whose messages must stay in order (an order id). */
  readonly groupId?: string;
  /** FIFO: the producer's idempotency key within SQS's 5-minute window. */
  readonly deduplicationId?: string;
  /** Standard queues only: 0–900 s. */
  readonly delaySeconds?: number;
  readonly attributes?: Record<string, string>;
}

/**
 * The SendMessage input for a Spool message: JSON body, correlation id attribute, FIFO fields.
 * Every producer goes through this, so no message leaves without a correlation id.
 */
export function spoolMessage(message: SpoolMessage): SendMessageCommandInput {
  const attributes: Record<string, MessageAttributeValue> = {
    [CORRELATION_ID_ATTRIBUTE]: {
      DataType: "String",
      StringValue: message.correlationId ?? newCorrelationId(),
    },
  };
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    attributes[name] = { DataType: "String", StringValue: value };
  }
  return {
    QueueUrl: message.queueUrl,
    MessageBody: typeof message.body === "string" ? message.body : JSON.stringify(message.body),
    MessageAttributes: attributes,
    ...(message.groupId !== undefined ? { MessageGroupId: message.groupId } : {}),
    ...(message.deduplicationId !== undefined
      ? { MessageDeduplicationId: message.deduplicationId }
      : {}),
    ...(message.delaySeconds !== undefined ? { DelaySeconds: message.delaySeconds } : {}),
  };
}

import type { MessageAttributeValue, SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { CORRELATION_ID_ATTRIBUTE, newCorrelationId } from "./correlation.js";
import { SQS_MAX_MESSAGE_BYTES } from "./limits.js";
import {
  DEFAULT_OFFLOAD_THRESHOLD_BYTES,
  eventPointerDetail,
  messageBytes,
  PAYLOAD_SIZE_ATTRIBUTE,
  type PayloadObjects,
  payloadKey,
  pointerBody,
} from "./payload-pointer.js";
import { assertTenantId, TENANT_ID_ATTRIBUTE } from "./tenant.js";

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
  /**
   * The tenant whose work this is (tenant.ts): carried as the `tenant-id` attribute, and on a
   * standard queue sent as the `MessageGroupId` (SQS fair queues), unless `groupId` is given.
   * 1–128 letters, digits or `. _ : -`; anything else throws a RangeError.
   */
  readonly tenantId?: string;
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
  const tenantId = message.tenantId === undefined ? undefined : assertTenantId(message.tenantId);
  if (tenantId !== undefined) {
    attributes[TENANT_ID_ATTRIBUTE] = { DataType: "String", StringValue: tenantId };
  }
  // On a FIFO queue the group id is the ordering key and stays the producer's choice; on a
  // standard queue it only says whose message this is, which fair queues spread delivery by.
  const groupId = message.groupId ?? (message.queueUrl.endsWith(".fifo") ? undefined : tenantId);
  return {
    QueueUrl: message.queueUrl,
    MessageBody: typeof message.body === "string" ? message.body : JSON.stringify(message.body),
    MessageAttributes: attributes,
    ...(groupId !== undefined ? { MessageGroupId: groupId } : {}),
    ...(message.deduplicationId !== undefined
      ? { MessageDeduplicationId: message.deduplicationId }
      : {}),
    ...(message.delaySeconds !== undefined ? { DelaySeconds: message.delaySeconds } : {}),
  };
}

/** How a producer offloads bodies too large to send (see payload-pointer.ts). */
export interface PayloadOffload {
  /** The PayloadStore's bucket (its `bucketName`, passed to the function's environment). */
  readonly bucket: string;
  /**
   * Where the bodies are written: `s3Offload(bucket)` (payload-objects-s3.ts) gives the S3
   * adapter. Passed in rather than defaulted so a producer that never offloads (the outbox, the
   * task API) keeps the S3 SDK out of its dependencies.
   */
  readonly objects: PayloadObjects;
  /**
   * Body plus attributes above this many bytes go to the store; 0 offloads every message.
   * @default DEFAULT_OFFLOAD_THRESHOLD_BYTES (262,144: the extended clients' threshold)
   */
  readonly thresholdBytes?: number;
}

/** SQS refuses more than 10 message attributes; the size attribute takes one. */
const MAX_ATTRIBUTES_WITH_POINTER = 9;

/**
 * The same SendMessage input, its body moved to the payload store when body and attributes are
 * over the threshold: the body becomes the extended clients' pointer and the message gains the
 * `ExtendedPayloadSize` attribute, so any extended-client consumer (Java, Python) or a Spool
 * consumer with the store resolves it. The object is written before the message is sent, so no
 * message ever points at nothing.
 *
 * The key is the SHA-256 of the body: sending the same body again (a retried send, a FIFO
 * producer relying on content-based deduplication) writes the same object and the same pointer.
 * A later write of the same body renews the object's age, which only lengthens its life.
 */
export async function offloadLargeBody(
  input: SendMessageCommandInput,
  offload: PayloadOffload,
): Promise<SendMessageCommandInput> {
  const threshold = offload.thresholdBytes ?? DEFAULT_OFFLOAD_THRESHOLD_BYTES;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > SQS_MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `thresholdBytes must be an integer from 0 to ${SQS_MAX_MESSAGE_BYTES}, got ${threshold}`,
    );
  }
  const body = input.MessageBody ?? "";
  const attributes = input.MessageAttributes ?? {};
  if (body === "" || messageBytes(body, attributes) <= threshold) return input;
  if (Object.keys(attributes).length > MAX_ATTRIBUTES_WITH_POINTER) {
    throw new RangeError(
      `an offloaded message may carry at most ${MAX_ATTRIBUTES_WITH_POINTER} attributes (the pointer's size attribute is the tenth), got ${Object.keys(attributes).length}`,
    );
  }
  const pointer = { bucket: offload.bucket, key: payloadKey(body) };
  await offload.objects.put(pointer, body);
  return {
    ...input,
    MessageBody: pointerBody(pointer),
    MessageAttributes: {
      ...attributes,
      [PAYLOAD_SIZE_ATTRIBUTE]: {
        DataType: "Number",
        StringValue: String(Buffer.byteLength(body, "utf8")),
      },
    },
  };
}

/**
 * Stores an event (its JSON as the producer wrote it) in the payload store and returns the
 * pointer detail to publish in its place (payload-pointer.ts, `eventPointerDetail`): the
 * envelope's fields without `data`, and the pointer. The caller decides when: the outbox
 * publisher for an entry over its threshold, `outboxPut` for a row over DynamoDB's item size.
 * The object is written first, so no published event ever points at nothing.
 */
export async function offloadEvent(
  eventJson: string,
  event: Readonly<Record<string, unknown>>,
  offload: Pick<PayloadOffload, "bucket" | "objects">,
): Promise<string> {
  const pointer = { bucket: offload.bucket, key: payloadKey(eventJson) };
  await offload.objects.put(pointer, eventJson);
  return eventPointerDetail(event, pointer, Buffer.byteLength(eventJson, "utf8"));
}

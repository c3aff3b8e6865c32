import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SpoolEvent } from "../../runtime/envelope.js";
import { PermanentError } from "../../runtime/errors.js";
import { offloadLargeBody, type PayloadOffload, spoolMessage } from "../../runtime/producer.js";

/**
 * Why this hop exists: an EventBridge rule can deliver to a FIFO queue only under one static
 * `SqsParameters.MessageGroupId`, which would put every order in a single message group and
 * process them one at a time. This forwarder reads the group (an order id) from each event and
 * re-sends the event to the FIFO queue under it, so one order's events are processed in order,
 * one at a time, while different orders run in parallel. The event id becomes the FIFO
 * deduplication id, so a re-published event within SQS's five-minute window is dropped at the
 * queue; the consumer's idempotency record covers any later one.
 */

/** SQS: 1–128 characters, alphanumeric and punctuation (ASCII 33–126). */
const MESSAGE_GROUP_ID = /^[\x21-\x7E]{1,128}$/;

export interface ForwardDeps {
  readonly sqs: SQSClient;
  /** The FIFO queue the consumer reads. */
  readonly queueUrl: string;
  /** Path of the group id in the envelope, e.g. `data.orderId`. */
  readonly groupIdPath: string;
  /**
   * With a payload store: an event the forwarder got through a pointer (it resolved it to read
   * the group id) is re-sent through the store when large, as the extended clients' pointer the
   * FIFO queue's consumer resolves, rather than inline up to SQS's limit.
   */
  readonly offload?: PayloadOffload | undefined;
}

export function messageGroupIdOf(event: SpoolEvent, path: string): string {
  let value: unknown = event;
  for (const part of path.split(".")) {
    value =
      value !== null && typeof value === "object"
        ? (value as Record<string, unknown>)[part]
        : undefined;
  }
  const groupId =
    typeof value === "string" || (typeof value === "number" && Number.isFinite(value))
      ? String(value)
      : undefined;
  if (groupId === undefined || !MESSAGE_GROUP_ID.test(groupId)) {
    throw new PermanentError(
      `event ${event.id} (${event.type}) has no usable message group id at ${path}: got ${JSON.stringify(value) ?? "nothing"}`,
      {
        code: "MESSAGE_GROUP_ID_INVALID",
        details: { path, value: value === undefined ? null : value },
      },
    );
  }
  return groupId;
}

export async function forwardEvent(
  event: SpoolEvent,
  deps: ForwardDeps,
): Promise<{ readonly messageGroupId: string; readonly messageId: string | undefined }> {
  const messageGroupId = messageGroupIdOf(event, deps.groupIdPath);
  const message = spoolMessage({
    queueUrl: deps.queueUrl,
    body: event,
    correlationId: event.correlationId,
    groupId: messageGroupId,
    deduplicationId: event.id,
    // Validated with the envelope; carried so the consumer's tenant quota and metrics see it.
    ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
  });
  const input = deps.offload ? await offloadLargeBody(message, deps.offload) : message;
  const result = await deps.sqs.send(new SendMessageCommand(input));
  return { messageGroupId, messageId: result.MessageId };
}

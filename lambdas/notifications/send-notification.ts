import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { PermanentError } from "../runtime/errors.js";
import type { NotificationRequest } from "./schema.js";

export interface NotificationDeps {
  readonly db: DynamoDBDocumentClient;
  /** The effects table stands in for the notification provider: one row per delivery. */
  readonly table: string;
  readonly now: () => Date;
}

export type SendResult =
  | { readonly delivered: true; readonly notificationId: string }
  | {
      readonly delivered: false;
      readonly reason: "already-delivered";
      readonly notificationId: string;
    };

export function deliveryKey(notificationId: string) {
  return { pk: `notification#${notificationId}`, sk: "delivery" };
}

/** A recipient the provider refuses (bounced, unsubscribed). Operators lift it to allow a replay. */
export function suppressionKey(recipient: string) {
  return { pk: `suppressed#${recipient.toLowerCase()}`, sk: "suppression" };
}

/**
 * Delivers a notification through the (simulated) provider.
 *
 * Like real providers (SES, Twilio, Stripe-style APIs), the provider deduplicates by an
 * idempotency key: here a conditional put on the notification id. That conditional write is the
 * exactly-once boundary; Powertools idempotency in front of it saves the provider call for most
 * duplicates. `duplicateDeliveries` counts the calls the provider had to refuse.
 */
export async function sendNotification(
  request: NotificationRequest,
  meta: { messageId: string; correlationId: string; attempt: number },
  deps: NotificationDeps,
): Promise<SendResult> {
  const suppressed = await deps.db.send(
    new GetCommand({ TableName: deps.table, Key: suppressionKey(request.recipient) }),
  );
  if (suppressed.Item) {
    throw new PermanentError(
      `recipient ${request.recipient} is suppressed: ${String(suppressed.Item.reason)}`,
      {
        code: "RECIPIENT_SUPPRESSED",
        details: { recipient: request.recipient, reason: suppressed.Item.reason },
      },
    );
  }
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.table,
        Item: {
          ...deliveryKey(request.notificationId),
          channel: request.channel,
          recipient: request.recipient,
          template: request.template,
          messageId: meta.messageId,
          correlationId: meta.correlationId,
          attempt: meta.attempt,
          deliveredAt: deps.now().toISOString(),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { delivered: true, notificationId: request.notificationId };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: deliveryKey(request.notificationId),
        UpdateExpression: "ADD duplicateDeliveries :one",
        ExpressionAttributeValues: { ":one": 1 },
      }),
    );
    return {
      delivered: false,
      reason: "already-delivered",
      notificationId: request.notificationId,
    };
  }
}

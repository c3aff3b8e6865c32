import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type EffectFence, writeFenced } from "../../lib/spool/runtime/effect-fence.js";
import { countDuplicate, markerPut } from "../../lib/spool/runtime/effect-once.js";
import { PermanentError } from "../../lib/spool/runtime/errors.js";
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
 * duplicates. The suppression check and the delivery are one transaction, so a notification that
 * was already delivered is reported as such even if its recipient was suppressed since, and the
 * check costs no separate read. `duplicateDeliveries` counts the calls the provider refused.
 * With the record's fence (the step's context), the same transaction completes the message's
 * idempotency record (effect-fence.ts): a new notification costs two DynamoDB calls, not three.
 */
export async function sendNotification(
  request: NotificationRequest,
  meta: {
    messageId: string;
    correlationId: string;
    attempt: number;
    effectFence?: EffectFence | undefined;
  },
  deps: NotificationDeps,
): Promise<SendResult> {
  const sent: SendResult = { delivered: true, notificationId: request.notificationId };
  try {
    await writeFenced(
      deps.db,
      meta.effectFence,
      [
        {
          ConditionCheck: {
            TableName: deps.table,
            Key: suppressionKey(request.recipient),
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
        markerPut(deps.table, deliveryKey(request.notificationId), {
          channel: request.channel,
          recipient: request.recipient,
          template: request.template,
          messageId: meta.messageId,
          correlationId: meta.correlationId,
          attempt: meta.attempt,
          deliveredAt: deps.now().toISOString(),
        }),
      ],
      { completesWith: sent },
    );
    return sent;
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [suppression, delivery] = error.CancellationReasons ?? [];
    if (delivery?.Code === "ConditionalCheckFailed") {
      await countDuplicate(
        deps.db,
        deps.table,
        deliveryKey(request.notificationId),
        "duplicateDeliveries",
      );
      return {
        delivered: false,
        reason: "already-delivered",
        notificationId: request.notificationId,
      };
    }
    if (suppression?.Code === "ConditionalCheckFailed") {
      const reason = suppression.Item ? unmarshall(suppression.Item).reason : undefined;
      throw new PermanentError(`recipient ${request.recipient} is suppressed: ${String(reason)}`, {
        code: "RECIPIENT_SUPPRESSED",
        details: { recipient: request.recipient, reason },
      });
    }
    // Cancelled for another reason (a conflicting transaction, throttling): worth retrying.
    throw error;
  }
}

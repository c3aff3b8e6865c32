import * as z from "zod";
import { eventSchema, type SpoolEvent } from "../../lib/spool/runtime/envelope.js";
import type { RecordContext } from "../../lib/spool/runtime/sqs-consumer.js";
import {
  type NotificationDeps,
  type SendResult,
  sendNotification,
} from "../notifications/send-notification.js";

/** The fields of OrderPlaced 1.x an order confirmation needs. */
export const ConfirmationOrderPlaced = eventSchema({
  type: "OrderPlaced",
  major: 1,
  data: z.object({
    orderId: z.string().min(1),
    email: z.email(),
    currency: z.string(),
    totalCents: z.number().int(),
  }),
});
export type ConfirmationOrderPlaced = z.infer<typeof ConfirmationOrderPlaced>;

export function confirmationNotificationId(orderId: string): string {
  return `order-confirmation#${orderId}`;
}

/**
 * Sends the order confirmation email through the notifications business step.
 *
 * Exactly-once boundary: the notification id is derived from the order id, and the provider
 * (simulated by a conditional put in the effects table) refuses a second send of one id. So an
 * order gets one confirmation even if its event were re-published after every idempotency
 * record had expired.
 */
export function confirmOrder(
  event: SpoolEvent<ConfirmationOrderPlaced["data"]>,
  ctx: Pick<RecordContext, "messageId" | "correlationId" | "attempt">,
  deps: NotificationDeps,
): Promise<SendResult> {
  const { orderId, email, currency, totalCents } = event.data;
  return sendNotification(
    {
      schemaVersion: 1,
      notificationId: confirmationNotificationId(orderId),
      channel: "email",
      recipient: email,
      template: "order-confirmation",
      data: { orderId, currency, totalCents, eventId: event.id },
      correlationId: event.correlationId,
    },
    ctx,
    deps,
  );
}
